// Validate a .glb/.gltf with the Khronos glTF validator (npm gltf-validator, installed by the Makefile's test-extras
// into .node/): prints the report's issue counts and messages as one JSON line; exit 0 when there is no error.
//   node tools/gltf_validate.js out.glb
const fs = require("fs");
const path = require("path");
const validator = require(path.join(__dirname, "..", ".node", "node_modules", "gltf-validator"));

const file = process.argv[2];
validator.validateBytes(new Uint8Array(fs.readFileSync(file)), {uri: path.basename(file), maxIssues: 100})
  .then((report) => {
    const issues = report.issues;
    const messages = issues.messages.map((m) => `${m.severity === 0 ? "error" : m.severity === 1 ? "warning" : "info"} ${m.code} ${m.pointer || ""}: ${m.message}`);
    console.log(JSON.stringify({file, validator: report.validatorVersion, errors: issues.numErrors,
      warnings: issues.numWarnings, infos: issues.numInfos, hints: issues.numHints, messages}));
    process.exit(issues.numErrors === 0 ? 0 : 1);
  })
  .catch((error) => { console.log(JSON.stringify({file, errors: -1, failure: String(error)})); process.exit(2); });
