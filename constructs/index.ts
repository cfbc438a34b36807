export * from './platform.js';
export * from './environment.js';
export * from './release.js';
export { ConstructValidationError, type PropProblem } from './private/validation.js';
