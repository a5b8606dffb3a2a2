// grokwasm on Cloudflare Workers: training in slices, one Durable Object per run (see
// run-object.ts). The Worker routes /runs/<id>/... to the run's object.
//
//   POST /runs                       {config keys}         -> 201 {id, step: 0, config, ...}
//   POST /runs/<id>/advance          {steps, budget_ms}    -> the slice: new metrics lines, step, done
//   GET  /runs/<id>                                         -> step, done, summary, memory
//   GET  /runs/<id>/<file>   config.json metrics.jsonl progress.jsonl summary.json
//                            model.safetensors checkpoint.safetensors

import { errorResponse, HttpError, json, RunObject } from "./run-object.js";

export { RunObject };

interface Env {
  RUNS: DurableObjectNamespace;
}

const HELP = `grokwasm on Cloudflare Workers: grokking runs trained in slices.
POST /runs {config keys, e.g. {"p": 97, "task": "add"}} creates a run;
POST /runs/<id>/advance {"steps": N, "budget_ms": MS} trains up to N steps;
GET /runs/<id> its status; GET /runs/<id>/{config.json,metrics.jsonl,progress.jsonl,summary.json,model.safetensors,checkpoint.safetensors}.
The client: grok edge-train URL [train options].
`;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      const url = new URL(request.url);
      const [, root, id, ...rest] = url.pathname.split("/");
      if (url.pathname === "/" && request.method === "GET") return new Response(HELP);
      if (root !== "runs") throw new HttpError(404, `no route ${url.pathname} (GET / for the routes)`);
      if (id === undefined || id === "") {
        if (request.method !== "POST") throw new HttpError(405, "POST /runs creates a run");
        const newId = env.RUNS.newUniqueId();
        const created = await env.RUNS.get(newId).fetch(new Request("https://run/", { method: "PUT", body: await request.text() }));
        if (!created.ok) return created;
        return json({ id: newId.toString(), ...((await created.json()) as object) }, 201);
      }
      let objectId: DurableObjectId;
      try {
        objectId = env.RUNS.idFromString(id);
      } catch {
        throw new HttpError(404, `no such run '${id}'`);
      }
      return env.RUNS.get(objectId).fetch(new Request(`https://run/${rest.join("/")}`, request));
    } catch (e) {
      return errorResponse(e);
    }
  },
};
