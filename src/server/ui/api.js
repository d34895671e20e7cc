/**
 * The backend's HTTP API as the page uses it. Paths are relative to the page (/ui/), so the page
 * also works behind a reverse proxy that serves the backend under a path prefix. The browser
 * sends the Basic auth credentials it was given for the page with every request.
 */

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function request(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: body === undefined ? 'GET' : 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError(`cannot reach the backend (${error.message})`, 0);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // An answer that is not JSON (a proxy's error page): reported by status below.
  }
  if (!response.ok) {
    const detail = json && typeof json.detail === 'string' ? json.detail : response.statusText;
    throw new ApiError(`${response.status}: ${detail}`, response.status);
  }
  return json;
}

/** Every project with its versions and jobs (contract C3). */
export async function fetchProjects() {
  return (await request('api/projects')).projects;
}

/** Liveness and model facts: model class, TF.js backend, readiness. */
export function fetchHealth() {
  return request('../health');
}

/** Rollback (or roll forward): the project serves `version` from now on. */
export function selectVersion(project, version) {
  return request('../versions', { project, version });
}

/** What Label Studio's "Start Training" button sends. */
export function startTraining(project) {
  return request('../webhook', { action: 'START_TRAINING', project: { id: project } });
}

/** One job record with its progress history (for a past job's loss curve). */
export async function fetchJob(jobId) {
  return (await request('../job_status', { job: jobId })).job;
}
