/**
 * The fields forms show, derived from the schemas and their words: kind, allowed values (from the
 * zod enums), nullability and default. Shared by the Train and Perceptron pages and their tests.
 */
import { fieldSpecs } from './field-errors';
import { PERCEPTRON_DOCS, TRAIN_DOCS } from './parameter-docs';
import { PerceptronConfig } from './perceptron';
import { TrainConfig } from './training';

export const TRAIN_FIELDS = fieldSpecs(TrainConfig, TRAIN_DOCS);
export const PERCEPTRON_FIELDS = fieldSpecs(PerceptronConfig, PERCEPTRON_DOCS);
export type TrainKey = keyof typeof TRAIN_FIELDS;
