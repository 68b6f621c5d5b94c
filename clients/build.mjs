// Bundles the web page's script (clients/web/app.js and the client libraries it
// imports from npm) into rtvi_server/web/static/, so the page loads nothing from
// outside the server.
import { build } from "esbuild";

await build({
  entryPoints: ["web/app.js"],
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  outfile: "../rtvi_server/web/static/app.js",
  logLevel: "warning",
});
