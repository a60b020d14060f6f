/* Hyperscan beside the classifier, for bench/peers: the same terms as
 * literals (one per line, caseless), every report of a JSONL corpus scanned
 * as one line, stopping at its first match. Prints "lines matched seconds"
 * (CPU seconds of the scan, compile excluded; compile seconds on stderr).
 * Build: cc -O2 hs.c -lhs -o hs    Usage: hs TERMS CORPUS */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *ctx) {
  (void)id; (void)from; (void)to; (void)flags;
  *(int *)ctx = 1;
  return 1; /* stop: the line matched */
}

static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: hs TERMS CORPUS\n"); return 2; }
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 1; }
  size_t cap = 1024, n = 0;
  char **terms = malloc(cap * sizeof *terms);
  size_t *lens = malloc(cap * sizeof *lens);
  char *line = NULL;
  size_t len_cap = 0;
  ssize_t len;
  while ((len = getline(&line, &len_cap, f)) > 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (len == 0) continue;
    if (n == cap) { cap *= 2; terms = realloc(terms, cap * sizeof *terms); lens = realloc(lens, cap * sizeof *lens); }
    terms[n] = strndup(line, len);
    lens[n] = len;
    n++;
  }
  fclose(f);
  unsigned *flags = malloc(n * sizeof *flags), *ids = malloc(n * sizeof *ids);
  for (size_t i = 0; i < n; i++) { flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH; ids[i] = i; }
  hs_database_t *db;
  hs_compile_error_t *err;
  double t0 = cpu();
  if (hs_compile_lit_multi((const char *const *)terms, flags, ids, lens, n, HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS) {
    fprintf(stderr, "hs: cannot compile term %d: %s\n", err->expression, err->message);
    return 1;
  }
  fprintf(stderr, "hs: %zu terms compiled in %.2f s\n", n, cpu() - t0);
  hs_scratch_t *scratch = NULL;
  hs_alloc_scratch(db, &scratch);
  FILE *c = fopen(argv[2], "r");
  if (!c) { perror(argv[2]); return 1; }
  long lines = 0, matched = 0;
  double t1 = cpu();
  while ((len = getline(&line, &len_cap, c)) > 0) {
    int hit = 0;
    hs_scan(db, line, (unsigned)len, 0, scratch, on_match, &hit);
    lines++;
    matched += hit;
  }
  printf("%ld %ld %.3f\n", lines, matched, cpu() - t1);
  return 0;
}
