import { z } from 'zod';

export const Id = z.number().int().positive();
export const empty = z.object({}).strict();
/** A response type carried only at the type level. */
export const res = <T>() => undefined as unknown as T;
