import { Ajv } from 'ajv';

/**
 * The instance's body validator. strictNumbers: JSON.parse turns 1e999 into Infinity, which no tensor or
 * token id may be.
 */
export const ajv = new Ajv({ allErrors: false, strict: false, strictNumbers: true });
