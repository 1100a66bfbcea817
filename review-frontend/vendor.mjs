// Copy the browser builds the review page uses from node_modules into the Python package,
// so the wheel carries them and nothing is fetched from a CDN at run time.
//   npm ci && npm run vendor      (or: make frontend)
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";

const out = new URL("../src/trackwright/review/static/vendor/", import.meta.url);
mkdirSync(out, { recursive: true });
const pkg = new URL("./node_modules/wavesurfer.js/", import.meta.url);
const files = {
  "dist/wavesurfer.esm.js": "wavesurfer.esm.js",
  "dist/plugins/regions.esm.js": "regions.esm.js",
  "LICENSE": "wavesurfer.LICENSE.txt",
};
for (const [from, to] of Object.entries(files)) {
  copyFileSync(new URL(from, pkg), new URL(to, out));
}
const version = JSON.parse(readFileSync(new URL("package.json", pkg))).version;
console.log(`vendored wavesurfer.js ${version} into src/trackwright/review/static/vendor/`);
