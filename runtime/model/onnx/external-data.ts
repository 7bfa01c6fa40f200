import { DataLocation, type DataType, type TensorProto } from './schema.ts';

/** Where a tensor's bytes lie in a file next to the graph (ONNX external data). */
export interface ExternalData {
  readonly dataType: DataType;
  readonly dims: readonly number[];
  /** The file's path relative to the graph's folder. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** An initializer whose bytes stay in the shared weights file, so every graph of a model reads one copy. */
export function externalTensor(name: string, d: ExternalData): TensorProto {
  return {
    name,
    data_type: d.dataType,
    dims: [...d.dims],
    data_location: DataLocation.EXTERNAL,
    external_data: [
      { key: 'location', value: d.location },
      { key: 'offset', value: String(d.offset) },
      { key: 'length', value: String(d.length) },
    ],
  };
}
