"""Runs a BPMN file in SpiffWorkflow the way `yiwang workflow simulate` runs it:
user (and service) tasks are completed as they become ready, each with
decisions[task id] merged into its data (a list gives each multi-instance
instance its own entry), until the workflow completes. Prints
{"trace": [...], "data": {...}}: the BPMN ids of completed activities, events
and gateways, in completion order.

Usage: spiff_simulate.py FILE.bpmn PROCESS_ID DATA_JSON DECISIONS_JSON
"""
import json
import sys

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

path, process_id, data, decisions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
parser = CamundaParser()
parser.add_bpmn_file(path)
workflow = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
workflow.data.update(data)
for t in workflow.get_tasks(state=TaskState.READY):
    t.data.update(data)

trace = []
ids = set()


def bpmn_id(task):
    return getattr(task.task_spec, "bpmn_id", None)


def record(task):
    bid = bpmn_id(task)
    if bid:
        trace.append(bid)


workflow.do_engine_steps(did_complete_task=record)
seen_instances = {}
for _ in range(10000):
    if workflow.is_completed():
        break
    ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual or type(t.task_spec).__name__ == "ServiceTask"]
    if not ready:
        workflow.refresh_waiting_tasks(did_refresh_task=None)
        workflow.do_engine_steps(did_complete_task=record)
        if not [t for t in workflow.get_tasks(state=TaskState.READY)]:
            break
        continue
    task = ready[0]
    bid = bpmn_id(task)
    decision = decisions.get(bid, {})
    if isinstance(decision, list):
        n = seen_instances.get(bid, 0)
        seen_instances[bid] = n + 1
        decision = decision[n] if n < len(decision) else {}
    task.data.update(decision or {})
    task.run()
    record(task)
    workflow.do_engine_steps(did_complete_task=record)

print(json.dumps({"completed": workflow.is_completed(), "trace": trace, "data": workflow.last_task.data if workflow.last_task else {}}, ensure_ascii=False, default=str))
