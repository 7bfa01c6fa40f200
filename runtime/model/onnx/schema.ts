import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-proto.ts';

/**
 * ONNX messages as plain objects, in the schema's own (snake_case) field names. protobufjs's reflection
 * encodes them directly, so no generated code sits between these types and the wire format. Only the
 * fields warmgate sets are typed; int64 fields are numbers (every value warmgate writes is far below 2^53).
 */
export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntryProto[];
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: number;
}

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface AttributeProto {
  name?: string;
  type?: AttributeType;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: number[];
}

export interface TensorProto {
  dims?: number[];
  data_type?: DataType;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntryProto[];
  data_location?: DataLocation;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  doc_string?: string;
}

export interface TypeProto {
  tensor_type?: { elem_type?: DataType; shape?: TensorShapeProto };
}

export interface TensorShapeProto {
  dim?: { dim_value?: number; dim_param?: string }[];
}

/** TensorProto.DataType values warmgate uses. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values warmgate uses. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, GRAPH: 5, INTS: 7 } as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export type DataLocation = (typeof DataLocation)[keyof typeof DataLocation];

const modelType = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');

export function encodeModel(model: ModelProto): Uint8Array {
  const problem = modelType.verify(model);
  if (problem) throw new Error(`not an ONNX ModelProto: ${problem}`);
  return modelType.encode(model).finish();
}

/** Decodes an ONNX file into plain objects (int64 as numbers, enums as their numeric values). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return modelType.toObject(modelType.decode(bytes), { longs: Number }) as ModelProto;
}
