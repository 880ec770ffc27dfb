export * from './deepfool';
export * from './fast';
export * from './chunked';
export * from './npy';
export * from './summary';
