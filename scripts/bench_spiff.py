"""SpiffWorkflow's side of `yiwang bench workflow`: N instances of a BPMN file,
each started and driven to completion by completing its user tasks as they
become ready. Prints {"instances": N, "seconds": S, "per_second": R}.

With a fourth argument (an SQLite file), each instance is persisted the way a
service would run it, and the way yiwang's persisted figure does: the workflow
is serialized with SpiffWorkflow's own serializer and saved in one transaction
at start and after every task completion, and loaded back before each one
(WAL, synchronous=NORMAL, as yiwang's SQLite)."""
import json
import sqlite3
import sys
import time

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

path, process_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db_path = sys.argv[4] if len(sys.argv) > 4 else None
parser = CamundaParser()
parser.add_bpmn_file(path)
spec = parser.get_spec(process_id)
subs = parser.get_subprocess_specs(process_id)

if db_path is None:
    started = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec, subs)
        wf.do_engine_steps()
        while not wf.is_completed():
            for t in wf.get_tasks(state=TaskState.READY, manual=True):
                t.run()
            wf.do_engine_steps()
    elapsed = time.perf_counter() - started
else:
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def save(iid, wf):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT OR REPLACE INTO instances (id, state) VALUES (?, ?)", (iid, serializer.serialize_json(wf)))
        db.execute("COMMIT")

    def load(iid):
        (state,) = db.execute("SELECT state FROM instances WHERE id = ?", (iid,)).fetchone()
        return serializer.deserialize_json(state)

    started = time.perf_counter()
    for iid in range(n):
        wf = BpmnWorkflow(spec, subs)
        wf.do_engine_steps()
        save(iid, wf)
        while True:
            wf = load(iid)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            ready[0].run()
            wf.do_engine_steps()
            save(iid, wf)
        assert wf.is_completed()
    elapsed = time.perf_counter() - started
print(json.dumps({"instances": n, "seconds": elapsed, "per_second": n / elapsed}))
