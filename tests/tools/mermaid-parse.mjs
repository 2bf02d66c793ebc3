// Parses each Mermaid file named on the command line with the real Mermaid parser
// (`mermaid.parse`, the npm package), printing `file: diagram type` or `file: the parser's
// error`; exits 1 when any fails. The first argument is the node_modules folder holding
// `mermaid` and `jsdom`: Mermaid sanitises labels with DOMPurify, which needs a DOM, so a
// jsdom window stands in for the browser's.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(`${modules}/`);
const { JSDOM } = require('jsdom');
const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const mermaid = (await import(require.resolve('mermaid'))).default;

let failed = false;
for (const file of files) {
  try {
    const { diagramType } = await mermaid.parse(fs.readFileSync(file, 'utf8'));
    console.log(`${file}: ${diagramType}`);
  } catch (error) {
    failed = true;
    console.log(`${file}: ${error?.message ?? error}`);
  }
}
process.exit(failed ? 1 : 0);
