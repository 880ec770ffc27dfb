// Benchmark: the default-sized perceptron study (K = 200, ε = 0.01, 5 alphas, ratios 0/0.5/0.8,
// none/PE/PD, 3 seeds). Target: under 60 s on the 2-core dev machine. Prints JSON.
import { PerceptronConfig } from '../src-shared/domain/perceptron';
import { runPerceptronStudy } from '../src-shared/method/perceptron';

const config = PerceptronConfig.parse({
  k: 200,
  eps: 0.01,
  alphas: [0.5, 1, 2, 4, 8],
  ratios: [0, 0.5, 0.8],
  strategies: ['none', 'pe', 'pd'],
  seeds: 3,
});
const started = performance.now();
const points = runPerceptronStudy(config);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds: Number(seconds.toFixed(2)), config, points }, null, 2));
