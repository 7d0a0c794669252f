"""Runs a BPMN file in SpiffWorkflow the way `yiwang workflow simulate` runs it:
user (and service) tasks are completed as they become ready, each with
decisions[task id] merged into its data (a list gives each multi-instance
instance its own entry), until the workflow completes. When no task is
ready, a waiting message event is sent (with decisions[its id] as data),
then timers are waited for in real time, and only then are the tasks named in
HOLD (comma-separated) completed: so their boundary timers fire first. Prints
{"trace": [...], "data": {...}}: the BPMN ids of completed activities, events
and gateways, in completion order.

Usage: spiff_simulate.py FILE.bpmn PROCESS_ID DATA_JSON DECISIONS_JSON [HOLD]
"""
import json
import sys
import time

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

path, process_id, data, decisions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
hold = set(filter(None, sys.argv[5].split(","))) if len(sys.argv) > 5 else set()
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


def decision_for(bid):
    decision = decisions.get(bid, {})
    if isinstance(decision, list):
        n = seen_instances.get(bid, 0)
        seen_instances[bid] = n + 1
        decision = decision[n] if n < len(decision) else {}
    return decision or {}


def waiting(kind):
    return [t for t in workflow.get_tasks(state=TaskState.WAITING) if isinstance(getattr(t.task_spec, "event_definition", None), kind)]


for _ in range(10000):
    if workflow.is_completed():
        break
    # User tasks wait READY; a service task waits STARTED for its result, as
    # yiwang's handler calls do. Both are answered in task order.
    manual = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual]
    ready = [t for t in manual if bpmn_id(t) not in hold]
    ready += [t for t in workflow.get_tasks(state=TaskState.STARTED) if type(t.task_spec).__name__ == "ServiceTask"]
    if not ready:
        messages = [t for t in workflow.event_manager.tasks.values() if type(t.task_spec.event_definition).__name__ == "MessageEventDefinition"]
        if messages:
            # The catching task takes the message's data as a user task takes its decision.
            task = messages[0]
            task.data.update(decision_for(bpmn_id(task)))
            workflow.send_event(BpmnEvent(task.task_spec.event_definition, payload={"payload": None, "result_var": "_message"}))
            workflow.do_engine_steps(did_complete_task=record)
            continue
        if waiting(TimerEventDefinition):
            # Wait for timers in real time, bounded by the loop.
            time.sleep(0.2)
            workflow.refresh_waiting_tasks()
            workflow.do_engine_steps(did_complete_task=record)
            continue
        ready = [t for t in manual if bpmn_id(t) in hold]
        if not ready:
            break
    task = ready[0]
    task.data.update(decision_for(bpmn_id(task)))
    if task.state == TaskState.STARTED:
        task.complete()
    else:
        task.run()
    record(task)
    workflow.do_engine_steps(did_complete_task=record)

print(json.dumps({"completed": workflow.is_completed(), "trace": trace, "data": workflow.last_task.data if workflow.last_task else {}}, ensure_ascii=False, default=str))
