"""SpiffWorkflow's side of `yiwang bench workflow`: N instances of a BPMN file,
each started and driven to completion by completing its user tasks as they
become ready. Prints {"instances": N, "seconds": S, "per_second": R}."""
import json
import sys
import time

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

path, process_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
parser = CamundaParser()
parser.add_bpmn_file(path)
spec = parser.get_spec(process_id)
subs = parser.get_subprocess_specs(process_id)
started = time.perf_counter()
for _ in range(n):
    wf = BpmnWorkflow(spec, subs)
    wf.do_engine_steps()
    while not wf.is_completed():
        for t in wf.get_tasks(state=TaskState.READY, manual=True):
            t.run()
        wf.do_engine_steps()
elapsed = time.perf_counter() - started
print(json.dumps({"instances": n, "seconds": elapsed, "per_second": n / elapsed}))
