/** Projects for the /ui tests, trained through the real HTTP API with the toy model. */
import type { TestServer } from '../helpers/server.js';

let nextAnnotation = 50_000;

const TEXTS: Array<[string, string]> = [
  ['good great', 'Positive'],
  ['great fun', 'Positive'],
  ['lovely good', 'Positive'],
  ['nice great', 'Positive'],
  ['bad awful', 'Negative'],
  ['awful mess', 'Negative'],
  ['terrible bad', 'Negative'],
  ['worst awful', 'Negative'],
];

export const PLAIN_CONFIG =
  '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single" showInLine="true"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';

/**
 * A config a hostile or careless author could write: a <script> element, an <img> with an
 * onerror handler, and markup inside a label and an attribute. Still a valid config for the toy.
 */
export const HOSTILE_LABEL = '<img src=x onerror="window.__pwned=3">';
export const HOSTILE_CONFIG =
  '<View><Header value="&lt;script&gt;window.__pwned=1&lt;/script&gt;"/><script>window.__pwned = 2</script>' +
  '<img src="x" onerror="window.__pwned = 4"/><Text name="text" value="$text"/>' +
  '<Choices name="sentiment" toName="text" hint="&lt;b&gt;bold&lt;/b&gt;"><Choice value="Positive"/>' +
  '<Choice value="&lt;img src=x onerror=&quot;window.__pwned=3&quot;&gt;"/><Choice value="Negative"/></Choices></View>';

/** Sends `count` annotations (ANNOTATION_CREATED webhooks) carrying `config`. */
export async function annotate(server: TestServer, project: number, config: string, count = TEXTS.length): Promise<void> {
  for (let i = 0; i < count; i++) {
    const [text, choice] = TEXTS[i % TEXTS.length] as [string, string];
    const id = nextAnnotation++;
    await server.http
      .post('/webhook')
      .send({
        action: 'ANNOTATION_CREATED',
        annotation: { id, task: id, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [choice] } }] },
        task: { id, data: { text } },
        project: { id: project, label_config: config },
      })
      .expect(201);
  }
}

/** START_TRAINING through the API; resolves once the job finished. Returns the job id. */
export async function train(server: TestServer, project: number): Promise<string> {
  const { body } = await server.http.post('/webhook').send({ action: 'START_TRAINING', project: { id: project } }).expect(201);
  await server.backend.waitForJobs();
  return body.job as string;
}

/**
 * The projects every /ui browser test starts from: `plain` trained twice (6 then 8 annotations,
 * so two versions on a learning curve), `hostile` with HOSTILE_CONFIG and four annotations of
 * one class, which the toy cannot train on (a failed job). Returns `plain`'s versions, oldest first.
 */
export async function trainUiProjects(server: TestServer, projects: { plain: number; hostile: number }): Promise<string[]> {
  await annotate(server, projects.plain, PLAIN_CONFIG, 6);
  await server.http.post('/setup').send({ project: String(projects.plain), extra_params: { epochs: 15 } }).expect(200);
  await train(server, projects.plain);
  await annotate(server, projects.plain, PLAIN_CONFIG, 2);
  await train(server, projects.plain);
  await annotate(server, projects.hostile, HOSTILE_CONFIG, 4);
  await train(server, projects.hostile);
  return (await server.http.get(`/versions?project=${projects.plain}`).expect(200)).body.versions as string[];
}

/** The version /setup says the project serves (what Label Studio would see). */
export async function servedVersion(server: TestServer, project: number): Promise<string> {
  return (await server.http.post('/setup').send({ project: String(project) }).expect(200)).body.model_version as string;
}
