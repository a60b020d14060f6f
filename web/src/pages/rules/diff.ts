// A small line diff for the history of a rule file: the longest common
// subsequence of lines (after the common start and end are set aside, so
// an edit of a few lines in a long file costs little), shown as hunks
// with three lines of context.

export type DiffLine = { kind: ' ' | '+' | '-'; text: string; old?: number; new?: number };

/** Every line of `before` and `after`, marked kept, added or removed. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  // lcs[i][j]: the longest common run of a[start+i..endA] and b[start+j..endB]
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[at(i, j)] = a[start + i] === b[start + j] ? lcs[at(i + 1, j + 1)] + 1 : Math.max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
  const out: DiffLine[] = [];
  for (let k = 0; k < start; k++) out.push({ kind: ' ', text: a[k], old: k + 1, new: k + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      out.push({ kind: ' ', text: a[start + i], old: start + i + 1, new: start + j + 1 });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)])) {
      // what goes before what comes, as diff shows it
      out.push({ kind: '-', text: a[start + i], old: start + i + 1 });
      i++;
    } else {
      out.push({ kind: '+', text: b[start + j], new: start + j + 1 });
      j++;
    }
  }
  for (let k = 0; k < a.length - endA; k++) out.push({ kind: ' ', text: a[endA + k], old: endA + k + 1, new: endB + k + 1 });
  return out;
}

/** The changed lines with `context` kept lines around them; `null` marks a gap. */
export function hunks(lines: DiffLine[], context = 3): (DiffLine | null)[] {
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.kind === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out: (DiffLine | null)[] = [];
  lines.forEach((l, i) => {
    if (keep[i]) out.push(l);
    else if (i > 0 && keep[i - 1]) out.push(null);
  });
  if (out.length && !keep[0] && out[0] !== null) out.unshift(null);
  return out;
}
