// "Send/receive objects (not just byte strings)" (python-gearman client docs, data_encoder):
// JSON stands in for pickle. The encoder converts job data both ways for every job.
import { DataEncoder, GearmanClient, GearmanWorker } from 'gearman-ts';
import { servers } from './check-request-status.mjs';

class JsonDataEncoder extends DataEncoder {
  static encode(encodableObject) {
    return JSON.stringify(encodableObject);
  }
  static decode(decodableBytes) {
    return JSON.parse(decodableBytes.toString('utf8'));
  }
}

class JsonExampleClient extends GearmanClient {
  dataEncoder = JsonDataEncoder;
}

// The worker decodes the object, and encodes its result, with the same encoder (an option here).
const worker = new GearmanWorker(servers, { dataEncoder: JsonDataEncoder });
worker.registerTask('task_name', (w, job) => ({ received: job.data, keys: Object.keys(job.data) }));
const working = worker.work();

const myObject = { hello: 'there' };
const gmClient = new JsonExampleClient(servers);
const request = await gmClient.submitJob('task_name', myObject);
console.log(request.state, JSON.stringify(request.result));

gmClient.shutdown();
worker.shutdown();
await working;
