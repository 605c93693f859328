"""``RLExperiment``: an agent, its environments and the schedule its config asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petri.configs.rl import RLExperimentConfig
from petri.rl import EvaluateAgentHook
from petri.tracking.summaries import SummaryHook

__all__ = ["RLExperiment"]


class RLExperiment:
    """An agent, its training and evaluation environments, and the schedule from its config.

    Args:
        agent: an ``Agent`` or ``PGAgent``.
        env: the training environment.
        eval_env: the evaluation environment (greedy episodes).
        config: the ``RLExperimentConfig`` the experiment was built from.
        output_dir: the run's directory.
        run: the run log (a ``petri.tracking.Experiment``) the agent logs to; each schedule
            marks it ``finished`` when it returns and ``crashed`` when it raises.
    """

    def __init__(
        self,
        agent: Any,
        env: Any,
        eval_env: Any,
        config: RLExperimentConfig,
        output_dir: Path,
        run: Any = None,
    ) -> None:
        self.agent, self.env, self.eval_env = agent, env, eval_env
        self.config, self.output_dir, self.run = config, output_dir, run
        self.evaluation_hook: Any = None
        if hasattr(agent, "checkpointed_envs"):  # evaluations after a resume: the same episodes
            agent.checkpointed_envs["eval_env"] = eval_env

    @property
    def estimator(self) -> Any:
        """The agent (the name ``petri run`` reports for supervised experiments)."""
        return self.agent

    def train(self) -> dict[str, Any]:
        """Train until ``train_steps`` (absolute) or ``train_episodes`` more episodes."""
        return self._recorded(self._train)

    def evaluate(self) -> dict[str, Any]:
        """Greedy evaluation over ``eval_episodes`` episodes."""
        return self._recorded(self._evaluate)

    def train_and_evaluate(self) -> dict[str, Any]:
        """Train, then evaluate (unless an evaluation at the final step is logged already: a
        periodic one, or the final one of a run resumed after it)."""
        return self._recorded(lambda: (self._train(), self._final_evaluation())[1])

    def run_schedule(self) -> dict[str, Any]:
        """Run the config's ``schedule`` (``train``, ``evaluate`` or ``train_and_evaluate``)."""
        return getattr(self, self.config.schedule)()

    def close(self) -> None:
        """Close the environments and the run log."""
        self.env.close()
        self.eval_env.close()
        if self.run is not None:
            self.run.close()

    # ----------------------------------------------------------------- helpers
    def _recorded(self, action: Any) -> dict[str, Any]:
        try:
            result = action()
        except BaseException as error:
            if self.run is not None:
                self.run.close("crashed", error=f"{type(error).__name__}: {error}")
            raise
        if self.run is not None:
            self.run.close()
        return result

    def _train(self) -> dict[str, Any]:
        config = self.config
        hooks = []
        if config.eval_every_n_steps:
            self.evaluation_hook = EvaluateAgentHook(
                self.agent,
                self.eval_env,
                every_n_steps=config.eval_every_n_steps,
                episodes=config.eval_episodes,
                target_return=config.target_return,
            )
            hooks.append(self.evaluation_hook)
        summaries = config.model.summaries
        if summaries and hasattr(self.run, "add_histogram"):
            every = self.agent.config.save_summary_steps
            hooks.append(SummaryHook(self.run, summaries, every_n_steps=every))
        self.agent.train(
            self.env,
            max_steps=config.train_steps,
            max_episodes=config.train_episodes,
            first_update=config.first_update,
            update_frequency=config.update_frequency,
            gradient_steps=config.gradient_steps,
            hooks=hooks,
        )
        return {"global_step": self.agent.global_step, "episodes": self.agent.episodes}

    def _final_evaluation(self) -> dict[str, Any]:
        step = self.agent.global_step
        rows = getattr(self.run, "metrics", None) or []
        for row in reversed(rows):
            if row.get("global_step") == step and row.get("split") == "eval":
                results = {
                    key.removeprefix("eval/"): value
                    for key, value in row.items()
                    if key.startswith("eval/")
                }
                return {**results, "global_step": step}
        return self._evaluate()

    def _evaluate(self) -> dict[str, Any]:
        return self.agent.evaluate(self.eval_env, self.config.eval_episodes)
