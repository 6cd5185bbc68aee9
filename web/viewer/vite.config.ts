import { defineConfig } from 'vite';

// The build goes into the Go package that embeds it (internal/viewer/dist), so that a plain
// `go build` serves the viewer without Node.js.
export default defineConfig({
  base: '/',
  build: {
    outDir: '../../internal/viewer/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` next to a `lightbox serve` on the default address.
    proxy: { '/dicom-web': 'http://127.0.0.1:8080' },
  },
});
