import { join } from 'node:path';
import { z } from 'zod';
import { repoRoot } from './repo-root.js';
import { configDocumentSchema } from './schema.js';

/** Where the published JSON Schema lives in the repository. */
export function jsonSchemaPath(): string {
  return join(repoRoot(), 'schema', 'lbctl.schema.json');
}

/** The JSON Schema of the YAML format, generated from the same zod schema that validates it. */
export function jsonSchemaText(): string {
  const schema = z.toJSONSchema(configDocumentSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
