// Writes the notices of the packages bundled into dist/index.js (their names, versions,
// licenses and the license texts they ship), from the metafile esbuild wrote.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

const [metafile] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metafile, "utf8"));
const roots = new Set();
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (m) roots.add(m[1]);
}
let out = "# Third-party code bundled into dist/index.js\n\n";
out += "dist/index.js carries these packages (so that `npm install <directory>` needs nothing else);\n";
out += "each keeps its own license.\n";
for (const root of [...roots].sort()) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  out += `\n## ${pkg.name} ${pkg.version}\n\nLicense: ${pkg.license}\n`;
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt"].map((f) => join(root, f)).find((f) => existsSync(f));
  if (file) out += "\n```\n" + readFileSync(file, "utf8").trim() + "\n```\n";
  else out += "\n(The package ships no license file; Apache-2.0 is the text of this repository's LICENSE.)\n";
}
process.stdout.write(out);
void dirname;
