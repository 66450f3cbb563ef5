import { writeFileSync } from 'node:fs';
import { jsonSchemaPath, jsonSchemaText } from './json-schema.js';

// Regenerates schema/lbctl.schema.json: node dist/src/config/write-json-schema.js
writeFileSync(jsonSchemaPath(), jsonSchemaText());
process.stdout.write(`wrote ${jsonSchemaPath()}\n`);
