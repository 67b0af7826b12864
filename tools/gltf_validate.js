// Validate glTF/GLB files with the Khronos glTF validator and print its JSON report to stdout.
// Usage: node tools/gltf_validate.js FILE  (run `npm install` in tools/ first)
const fs = require("fs");
const path = require("path");
const validator = require("gltf-validator");

const file = process.argv[2];
const data = new Uint8Array(fs.readFileSync(file));
validator
  .validateBytes(data, {
    uri: path.basename(file),
    maxIssues: 100,
    externalResourceFunction: (uri) =>
      new Promise((resolve, reject) => {
        fs.readFile(path.join(path.dirname(file), decodeURIComponent(uri)), (err, bytes) =>
          err ? reject(err.toString()) : resolve(new Uint8Array(bytes)));
      }),
  })
  .then((report) => process.stdout.write(JSON.stringify(report, null, 1) + "\n"))
  .catch((error) => {
    process.stderr.write(`validation failed: ${error}\n`);
    process.exit(2);
  });
