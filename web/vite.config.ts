// Vite builds the UI into dist/ (embedded into the horus binary by the C build).
// `npm run dev` serves it with hot reload and proxies the API to a running
// daemon: HORUS_URL (default http://127.0.0.1:8080).
import { defineConfig } from 'vitest/config';
import solid from 'vite-plugin-solid';

const target = process.env.HORUS_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [solid()],
  build: {
    target: 'es2020',
    outDir: process.env.HORUS_WEB_OUT || 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0, // no data: URLs; the CSP allows same-origin assets only
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    // hls.js (~600 kB, loaded lazily by the video pages only) is the one
    // chunk over Vite's default 500 kB warning.
    chunkSizeWarningLimit: 700,
  },
  // Vite's dependency cache in this checkout's build/ (ignored), not in
  // node_modules: checkouts that share one node_modules (git worktrees) would
  // otherwise rewrite each other's pre-bundled deps, and a running dev server
  // then answers 504 (Outdated Optimize Dep).
  cacheDir: '../build/vite-cache',
  // hls.js is imported lazily by the video pages: pre-bundle it so the dev
  // server does not discover it mid-session and answer 504 (Outdated Optimize Dep).
  optimizeDeps: { include: ['hls.js'] },
  server: {
    // An address, not 'localhost': resolving that name is not needed, and a machine
    // without it in /etc/hosts (a minimal container) must still build and test.
    host: '127.0.0.1',
    // The daemon's guards refuse a foreign Host (421) and a foreign Origin on
    // state-changing requests (403): the proxy speaks as the daemon's origin.
    proxy: Object.fromEntries(['/api', '/health', '/ready'].map((p) => [p, {
      target,
      changeOrigin: true,
      configure: (proxy: { on: (ev: string, fn: (req: { setHeader: (k: string, v: string) => void; getHeader: (k: string) => unknown }) => void) => void }) => {
        proxy.on('proxyReq', (req) => {
          if (req.getHeader('origin')) req.setHeader('origin', new URL(target).origin);
        });
      },
    }])),
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
