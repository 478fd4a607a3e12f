import { defaultClientConditions, defineConfig } from 'vite';

// Cross-origin isolation (COOP + COEP) lets onnxruntime-web use SharedArrayBuffer, i.e. its
// multi-threaded WASM build; the dev and preview servers both send the headers.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './',
  server: { headers: isolation },
  preview: { headers: isolation },
  // onnxruntime-web's build without the embedded loader: it loads its wasm binary and loader
  // from public/ort (copied by scripts/build-demo.mjs; ort.env.wasm.wasmPaths points there),
  // the same files for the page and for its worker threads, and the bundle holds no second copy.
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  // The dev server's dependency scan also crawls the training worker, so that opening it does not
  // trigger a re-optimisation (and a page reload) halfway through a run.
  optimizeDeps: { exclude: ['onnxruntime-web'], entries: ['index.html', 'src/train-worker.ts'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  worker: { format: 'es' },
});
