// The console's build: Vite root is web/, output web/dist (served by the controller at "/", see
// api/console.ts). `npm run dev:web` proxies /api to a running controller (CONTROLLER_URL).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
/** The controller's API listener: PORT defaults to 8080 (controller/config.ts). */
const controller = process.env.CONTROLLER_URL ?? 'http://127.0.0.1:8080';

export default defineConfig(({ command }) => ({
  root,
  base: '/',
  plugins: [react()],
  // A build is the production console whatever NODE_ENV the shell has (React's development
  // build is larger and slower, and would be served to operators).
  ...(command === 'build' ? { define: { 'process.env.NODE_ENV': JSON.stringify('production') } } : {}),
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The map is the home page; other pages are split into chunks loaded on first visit.
    chunkSizeWarningLimit: 700,
    sourcemap: false,
  },
  server: {
    proxy: {
      // Server-Sent Events pass through unbuffered: http-proxy streams the response body.
      '/api': { target: controller, changeOrigin: false },
    },
  },
}));
