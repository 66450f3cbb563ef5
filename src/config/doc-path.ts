/** A path into the configuration document: keys and sequence indexes. */
export type DocPath = readonly (string | number)[];
