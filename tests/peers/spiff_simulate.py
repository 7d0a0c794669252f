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
import time

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


def bpmn_id(task):
    return getattr(task.task_spec, "bpmn_id", None)


def record(task):
    # The engine also reports a service task it has only started.
    bid = bpmn_id(task)
    if bid and task.state == TaskState.COMPLETED:
        trace.append(bid)


workflow.do_engine_steps(did_complete_task=record)
seen_instances = {}
for _ in range(10000):
    if workflow.is_completed():
        break
    # User tasks wait READY; a service task waits STARTED for its result, as
    # yiwang's handler calls do. Both are answered in task order.
    ready = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    ready += [t for t in workflow.get_tasks(state=TaskState.STARTED) if type(t.task_spec).__name__ == "ServiceTask"]
    if not ready:
        # Only timers (or nothing) left: wait for them in real time, bounded.
        waiting = workflow.get_tasks(state=TaskState.WAITING)
        if not waiting:
            break
        time.sleep(0.2)
        workflow.refresh_waiting_tasks()
        workflow.do_engine_steps(did_complete_task=record)
        continue
    task = ready[0]
    bid = bpmn_id(task)
    decision = decisions.get(bid, {})
    if isinstance(decision, list):
        n = seen_instances.get(bid, 0)
        seen_instances[bid] = n + 1
        decision = decision[n] if n < len(decision) else {}
    task.data.update(decision or {})
    if task.state == TaskState.STARTED:
        task.complete()
    else:
        task.run()
    record(task)
    workflow.do_engine_steps(did_complete_task=record)

print(json.dumps({"completed": workflow.is_completed(), "trace": trace, "data": workflow.last_task.data if workflow.last_task else {}}, ensure_ascii=False, default=str))
