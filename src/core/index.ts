// The shared core: what the CLI, the Lambda handlers and the local stack all import.
export * from './errors.js';
export * from './spec.js';
export * from './plan.js';
export * from './keys.js';
export * from './validate.js';
export * from './resize.js';
export * from './upload-key.js';
export * from './integrity.js';
export * from './record.js';
