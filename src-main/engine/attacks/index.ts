export * from './model';
export * from './losses';
export * from './pgd';
