import { Document, isCollection, isMap, isScalar, type Node, Scalar } from 'yaml';
import type { BlockComments, DocPath } from './keepalived/mapper.js';

function commentText(lines: readonly string[]): string {
  // yaml prefixes every line with '#'; a leading space keeps "# text" readable.
  return lines.map((l) => (l === '' ? '' : ` ${l}`)).join('\n');
}

/**
 * Renders a configuration document as YAML, attaching keepalived comments to
 * the entries they were written above (or beside).
 */
export function documentToYaml(
  document: Record<string, unknown>,
  comments: ReadonlyMap<string, BlockComments> = new Map(),
  header?: string,
): string {
  const doc = new Document(document);
  for (const [key, comment] of comments) {
    const path: DocPath = key.split('\u0000').map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
    const node = doc.getIn(path, true) as Node | undefined;
    if (node === undefined) continue;
    const before = comment.before ?? [];
    const parent =
      path.length > 1 ? (doc.getIn(path.slice(0, -1), true) as Node | undefined) : doc.contents;
    const last = path[path.length - 1];
    if (isMap(parent) && typeof last === 'string') {
      // Comments on a map entry go above its key (or after a scalar value).
      const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === last);
      if (!pair) continue;
      if (!isScalar(pair.key)) pair.key = new Scalar(pair.key);
      const keyNode = pair.key as Scalar;
      const above =
        isScalar(node) || comment.after === undefined ? before : [...before, comment.after];
      if (above.length > 0) keyNode.commentBefore = commentText(above);
      if (isScalar(node) && comment.after !== undefined)
        node.comment = commentText([comment.after]);
    } else if (isCollection(node) || isScalar(node)) {
      const above = comment.after === undefined ? before : [...before, comment.after];
      if (above.length > 0) node.commentBefore = commentText(above);
    }
  }
  if (header !== undefined) doc.commentBefore = commentText(header.split('\n'));
  return doc.toString({ lineWidth: 100, indentSeq: true });
}
