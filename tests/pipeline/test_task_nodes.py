"""A cluster task's log names its node: the line is logged when the task's first step starts, the step's
documents pass unchanged, and the step is as it was after the task."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep
from loguru import logger

from finemill.pipeline.task_nodes import logging_the_node, slurm_node_line


class Numbers(PipelineStep):
    name = "numbers"

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        for i in range(3):
            yield Document(text=str(i), id=f"{rank}/{i}")


def test_the_first_step_logs_the_node_once_and_is_restored(monkeypatch):
    monkeypatch.setenv("SLURMD_NODENAME", "node-7")
    lines = []
    sink = logger.add(lines.append, format="{message}")
    step = Numbers()
    try:
        with logging_the_node([step], slurm_node_line):
            assert not lines, "nothing is logged before the task's first step starts"
            documents = [d.id for d in step(None, rank=2, world_size=4)]
        after = [d.id for d in step(None, rank=2)]
    finally:
        logger.remove(sink)
    assert [line.strip() for line in lines] == ["Slurm node node-7"]
    assert documents == after == ["2/0", "2/1", "2/2"]
    assert "run" not in vars(step)


def test_a_pipeline_without_steps_is_left_alone():
    with logging_the_node([], slurm_node_line):
        pass
    with logging_the_node([lambda data, rank, world_size: data], slurm_node_line):
        pass
