// The machinery console's page: plain DOM, no framework, no build step. Every value from the API
// is set as text (never as HTML). Actions are POSTs carrying the session token of the page's
// <meta name="machinery-token">; a read-only console gives none and the actions are not shown.

const token = document.querySelector('meta[name="machinery-token"]')?.content ?? '';
const readOnly = document.querySelector('meta[name="machinery-read-only"]')?.content === 'true';
const main = document.getElementById('main');
const FINAL = new Set(['SUCCESS', 'FAILURE']);
let timer;
let meta = { dlqs: [], sampleMs: 5000 };

/** Builds an element: h('td', { class: 'x' }, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, body) {
  const init =
    body === undefined
      ? {}
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-machinery-token': token },
          body: JSON.stringify(body),
        };
  const res = await fetch(`/api/${path}`, init);
  const doc = await res.json();
  if (!res.ok) throw new Error(doc.error ?? `HTTP ${res.status}`);
  return doc;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
}

/** A table that stacks into labelled rows on a narrow screen. */
function table(headers, rows, empty = 'nothing to show') {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', {}, x)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c, i) => h('td', { 'data-label': headers[i] }, c)),
        ),
      ),
    ),
  );
}

function fields(pairs) {
  return h(
    'dl',
    {},
    pairs
      .filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null ? '-' : v)]),
  );
}

function badge(state) {
  return h('span', { class: `badge ${String(state).toLowerCase()}` }, state);
}

/** Result values as machinery prints them: `[88]`, `["a", true]`. */
function results(list) {
  return list === null || list === undefined
    ? null
    : `[${list.map((r) => JSON.stringify(r.value)).join(', ')}]`;
}

function json(value) {
  return h('pre', {}, JSON.stringify(value, null, 2));
}

function repeat(fn, ms) {
  clearTimeout(timer);
  const tick = async () => {
    const again = await fn();
    if (again !== false) timer = setTimeout(tick, ms);
  };
  void tick();
}

/** A lookup form: a UUID field that navigates to `#/<page>/<uuid>`. */
function lookup(page, placeholder, value) {
  const input = h('input', {
    name: 'uuid',
    placeholder,
    value: value ?? '',
    required: true,
    autocomplete: 'off',
    'aria-label': placeholder,
  });
  return h(
    'form',
    {
      class: 'lookup',
      onsubmit: (e) => {
        e.preventDefault();
        location.hash = `#/${page}/${encodeURIComponent(input.value.trim())}`;
      },
    },
    input,
    h('button', { type: 'submit' }, 'Look up'),
  );
}

// ---- queues

function sparkline(values) {
  const w = 120;
  const hgt = 24;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  const points = values.map(
    (v, i) => `${(i * step).toFixed(1)},${(hgt - (v / max) * hgt).toFixed(1)}`,
  );
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `last ${values.length} samples, max ${max}`);
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  return svg;
}

function queuesPage() {
  repeat(async () => {
    try {
      const { samples, sampleMs } = await api('queues');
      const last = samples.at(-1);
      if (location.hash.split('/')[1] !== 'queues') return false;
      const rows = (last?.queues ?? []).map((q) => {
        const history = samples.map(
          (s) =>
            (s.queues.find((x) => x.queue === q.queue)?.visible ?? 0) +
            (s.queues.find((x) => x.queue === q.queue)?.inFlight ?? 0),
        );
        return [
          q.queue.endsWith('dlq')
            ? h('a', { href: `#/dlq/${q.queue.replace(/-dlq$/, '')}` }, q.queue)
            : q.queue,
          String(q.visible),
          String(q.inFlight),
          String(q.delayed),
          q.oldestMessageAgeSeconds === null ? '-' : `${q.oldestMessageAgeSeconds} s`,
          sparkline(history),
        ];
      });
      show(
        h('h1', {}, 'Queues'),
        h(
          'p',
          { class: 'muted' },
          `${samples.length} sample(s) since the console started, one every ${sampleMs / 1000} s; last ${last ? new Date(last.at).toLocaleTimeString() : '-'}`,
        ),
        table(
          ['queue', 'visible', 'in flight', 'delayed', 'oldest age', 'visible + in flight'],
          rows,
        ),
      );
    } catch (e) {
      show(h('h1', {}, 'Queues'), errorBox(e));
    }
  }, meta.sampleMs);
}

// ---- task

function taskPage(uuid) {
  const head = [h('h1', {}, 'Task'), lookup('task', 'task UUID', uuid)];
  if (!uuid) return show(...head);
  repeat(async () => {
    try {
      const t = await api(`tasks/${encodeURIComponent(uuid)}`);
      show(
        ...head,
        fields([
          ['uuid', t.uuid],
          ['name', t.name],
          ['state', badge(t.state)],
          ['results', results(t.results)],
          [t.state === 'SUCCESS' ? 'last error' : 'error', t.error],
          ['attempts', String(t.attempts)],
          ['retries', String(t.retries)],
          ['crashes', t.crashes === undefined ? undefined : String(t.crashes)],
          ['dead-lettered', t.deadLettered ? (t.deadLetterReason ?? 'yes') : undefined],
          ['eta', t.eta],
          [
            'workflow',
            t.groupUUID === null
              ? null
              : h(
                  'a',
                  { href: `#/workflow/${encodeURIComponent(t.groupUUID)}` },
                  `${t.groupUUID} (member ${t.groupIndex ?? '-'})`,
                ),
          ],
          ['created', t.createdAt],
          ['updated', t.updatedAt],
        ]),
      );
      return !FINAL.has(t.state);
    } catch (e) {
      show(...head, errorBox(e));
      return false;
    }
  }, 1000);
}

// ---- workflows

function workflowPage(uuid) {
  const head = [h('h1', {}, 'Workflow'), lookup('workflow', 'group UUID (group_…)', uuid)];
  if (!uuid) return show(...head);
  repeat(async () => {
    try {
      const w = await api(`workflows/${encodeURIComponent(uuid)}`);
      const cb = w.callbackTask;
      show(
        ...head,
        fields([
          ['uuid', w.uuid],
          ['kind', w.kind],
          ['state', badge(w.state)],
          [
            'progress',
            h(
              'span',
              { class: 'progress-line' },
              h('progress', { max: String(w.total), value: String(w.succeeded) }),
              ` ${w.succeeded} of ${w.total} succeeded`,
            ),
          ],
          ['failed', w.failed.length === 0 ? undefined : w.failed.join(', ')],
          [
            'waiting on',
            w.waitingOn === null || w.waitingOn.length === 0 ? undefined : w.waitingOn.join(', '),
          ],
          ['error', w.error],
          [
            'callback',
            w.callback === null
              ? undefined
              : h(
                  'span',
                  {},
                  h(
                    'a',
                    { href: `#/task/${encodeURIComponent(w.callback.uuid)}` },
                    w.callback.uuid,
                  ),
                  ' ',
                  badge(cb?.state ?? w.callback.state),
                ),
          ],
          ['callback result', cb?.results ? results(cb.results) : undefined],
        ]),
      );
      const done = FINAL.has(w.state) && (w.callback === null || FINAL.has(cb?.state));
      return !done;
    } catch (e) {
      show(...head, errorBox(e));
      return false;
    }
  }, 1000);
}

// ---- dead letters

function dlqPage(queue, id) {
  clearTimeout(timer);
  const names = meta.dlqs;
  const current = queue ?? names[0];
  const tabs = h(
    'nav',
    { class: 'tabs' },
    names.map((n) =>
      h('a', { href: `#/dlq/${n}`, 'aria-current': n === current ? 'page' : undefined }, n),
    ),
  );
  if (current === undefined)
    return show(h('h1', {}, 'Dead letters'), h('p', {}, 'no DLQ configured'));
  if (id) return dlqMessage(current, id, tabs);
  const status = h('div', { id: 'dlq-status' });
  const list = h('div', {}, h('p', { class: 'muted' }, 'loading…'));
  const note = h(
    'p',
    { class: 'muted' },
    'SQS has no peek: listing receives the messages and releases them at once, so each receive count goes up by one.',
  );
  show(h('h1', {}, 'Dead letters'), tabs, note, status, list);
  let entries = [];
  const selected = new Set();
  const load = async () => {
    try {
      entries = await api(`dlq/${current}?limit=100`);
      selected.clear();
      render();
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  const render = () => {
    const rows = entries.map((e) => [
      readOnly
        ? null
        : h('input', {
            type: 'checkbox',
            'aria-label': `select ${e.taskUUID ?? e.messageId}`,
            onchange: (ev) => {
              const key = e.taskUUID;
              if (key === null) return;
              if (ev.target.checked) selected.add(key);
              else selected.delete(key);
            },
          }),
      e.taskUUID === null
        ? '-'
        : h('a', { href: `#/task/${encodeURIComponent(e.taskUUID)}` }, e.taskUUID),
      e.name ?? '-',
      h('span', { class: 'reason' }, e.reason ?? (e.movedBySqs ? '(moved by SQS)' : '-')),
      e.detail ?? '-',
      String(e.receiveCount),
      h(
        'a',
        { href: `#/dlq/${current}/${encodeURIComponent(e.taskUUID ?? e.messageId)}` },
        'signature',
      ),
    ]);
    const headers = readOnly
      ? ['task', 'name', 'reason', 'detail', 'receives', '']
      : ['', 'task', 'name', 'reason', 'detail', 'receives', ''];
    const body = readOnly ? rows.map((r) => r.slice(1)) : rows;
    list.replaceChildren(
      h(
        'p',
        {},
        h('button', { type: 'button', onclick: load }, 'Refresh'),
        ` ${entries.length} message(s)`,
      ),
      table(headers, body, `the ${current} DLQ has no visible message`),
      readOnly ? null : actions(),
    );
  };
  const actions = () => {
    const confirmBox = h('div', { class: 'confirm' });
    const askRedrive = (uuids) => {
      const what = uuids
        ? `${uuids.length} selected message(s)`
        : `every message of the ${current} DLQ`;
      confirmBox.replaceChildren(
        h('p', {}, `Redrive ${what}? Each runs again as a fresh attempt.`),
        h(
          'button',
          { type: 'button', class: 'primary', onclick: () => redrive(uuids) },
          'Confirm redrive',
        ),
        ' ',
        h('button', { type: 'button', onclick: () => confirmBox.replaceChildren() }, 'Cancel'),
      );
    };
    const typed = h('input', {
      name: 'confirm-purge',
      placeholder: `type ${current}`,
      autocomplete: 'off',
      'aria-label': `type ${current} to purge`,
    });
    const purgeButton = h(
      'button',
      { type: 'button', class: 'danger', disabled: true, onclick: () => purge(typed.value) },
      'Purge',
    );
    typed.addEventListener('input', () => {
      purgeButton.disabled = typed.value !== current;
    });
    return h(
      'section',
      { class: 'actions' },
      h('h2', {}, 'Actions'),
      h(
        'p',
        {},
        h(
          'button',
          {
            type: 'button',
            onclick: () => (selected.size === 0 ? null : askRedrive([...selected])),
          },
          'Redrive selected',
        ),
        ' ',
        h('button', { type: 'button', onclick: () => askRedrive(undefined) }, 'Redrive all'),
      ),
      confirmBox,
      h('p', {}, 'Purge deletes every message of this DLQ for good. ', typed, ' ', purgeButton),
    );
  };
  const redrive = async (uuids) => {
    try {
      const { job } = await api(`dlq/${current}/redrive`, uuids ? { uuids } : {});
      const poll = async () => {
        const j = await api(`jobs/${job}`);
        status.replaceChildren(
          h(
            'p',
            { class: j.error ? 'error' : 'ok', role: 'status' },
            j.error ??
              `${j.done ? 'redrove' : 'redriving'} ${j.moved}${j.total === null ? '' : ` of ${j.total}`} message(s)${j.done ? ' — done' : '…'}`,
          ),
          j.total ? h('progress', { max: String(j.total), value: String(j.moved) }) : null,
        );
        if (!j.done) setTimeout(poll, 300);
        else await load();
      };
      await poll();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  const purge = async (confirm) => {
    try {
      await api(`dlq/${current}/purge`, { confirm });
      status.replaceChildren(h('p', { class: 'ok', role: 'status' }, `purged the ${current} DLQ`));
      await load();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  void load();
}

async function dlqMessage(queue, id, tabs) {
  show(h('h1', {}, 'Dead letter'), tabs, h('p', { class: 'muted' }, 'loading…'));
  try {
    const m = await api(`dlq/${queue}/messages/${encodeURIComponent(id)}`);
    show(
      h('h1', {}, 'Dead letter'),
      tabs,
      fields([
        ['queue', m.queue],
        ['message', m.messageId],
        [
          'task',
          m.taskUUID === null
            ? null
            : h('a', { href: `#/task/${encodeURIComponent(m.taskUUID)}` }, m.taskUUID),
        ],
        ['name', m.name],
        ['reason', m.reason],
        ['detail', m.detail],
        ['receives', String(m.receiveCount)],
        ['dead-lettered', m.deadLetteredAt],
        ['state', m.task ? badge(m.task.state) : undefined],
      ]),
      h('h2', {}, 'Signature'),
      json(m.signature),
    );
  } catch (e) {
    show(h('h1', {}, 'Dead letter'), tabs, errorBox(e));
  }
}

// ---- workers and schedules

function workersPage() {
  repeat(async () => {
    try {
      const w = await api('workers');
      if (location.hash.split('/')[1] !== 'workers') return false;
      show(
        h('h1', {}, 'Workers'),
        w.configured
          ? table(
              ['id', 'kind', 'host', 'started', 'last heartbeat', 'executed', 'failed'],
              w.workers.map((x) => [
                x.id,
                x.kind,
                x.host,
                x.startedAt,
                x.lastHeartbeatAt,
                String(x.executed),
                String(x.failed),
              ]),
              'no live worker',
            )
          : h(
              'p',
              { class: 'muted' },
              'no liveness table configured (MACHINERY_WORKERS_TABLE is not set)',
            ),
      );
    } catch (e) {
      show(h('h1', {}, 'Workers'), errorBox(e));
    }
  }, 5000);
}

async function schedulesPage() {
  clearTimeout(timer);
  show(h('h1', {}, 'Schedules'), h('p', { class: 'muted' }, 'loading…'));
  try {
    const s = await api('schedules');
    if (!s.configured) {
      return show(
        h('h1', {}, 'Schedules'),
        h('p', { class: 'muted' }, 'EventBridge Scheduler is not configured'),
      );
    }
    show(
      h('h1', {}, 'Schedules'),
      h('h2', {}, 'Periodic tasks'),
      table(
        ['name', 'schedule', 'time zone', 'tasks'],
        s.periodic.map((p) => [p.name, p.expression, p.timezone, p.tasks.join(' → ')]),
        'no periodic task',
      ),
      h('h2', {}, 'Pending far ETAs'),
      table(
        ['task', 'name', 'eta', 'fires at'],
        s.oneTime.map((o) => [
          h('a', { href: `#/task/${encodeURIComponent(o.uuid)}` }, o.uuid),
          o.name ?? '?',
          o.eta ?? '?',
          o.firesAt ?? '?',
        ]),
        'no one-time schedule',
      ),
    );
  } catch (e) {
    show(h('h1', {}, 'Schedules'), errorBox(e));
  }
}

// ---- routing

function route() {
  const [, page, a, b] = location.hash.split('/').map((p) => decodeURIComponent(p));
  for (const link of document.querySelectorAll('header nav a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${page}`);
  }
  switch (page) {
    case 'task':
      return taskPage(a);
    case 'workflow':
      return workflowPage(a);
    case 'dlq':
      return dlqPage(a, b);
    case 'workers':
      return workersPage();
    case 'schedules':
      return schedulesPage();
    default:
      if (page !== 'queues') history.replaceState(null, '', '#/queues');
      return queuesPage();
  }
}

async function start() {
  try {
    meta = await api('meta');
    document.getElementById('source').textContent =
      `${meta.describe}${meta.readOnly ? ' · read-only' : ''}`;
  } catch (e) {
    show(errorBox(e));
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}

void start();
