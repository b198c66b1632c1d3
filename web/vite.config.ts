/**
 * Vite build of the dashboard (web/ → web/dist/, served by the API at `/`: src/api/routes/dashboard.ts). Preact's JSX
 * through Vite's own transform (oxc: automatic runtime, import source preact), so no framework plugin is needed.
 * Assets are content-hashed under /assets/, which the API serves as immutable; index.html is revalidated.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  publicDir: false,
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // Every asset as a file of the API's origin: the page's Content-Security-Policy allows no inline script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
