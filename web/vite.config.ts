// The web app's build. Output goes to dist/, which is committed and embedded
// into the binary by api/build.rs; `.ci/run` builds again and fails if the
// result differs from what is committed.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  // no source maps or inline scripts: the page's Content-Security-Policy
  // allows scripts from the origin only
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: 'es2020',
    assetsInlineLimit: 0,
    rollupOptions: {
      input: { index: 'index.html', sw: 'src/sw.ts' },
      output: {
        // the service worker keeps a fixed name at the root, so that it can
        // control the whole origin; everything else is content-hashed
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
