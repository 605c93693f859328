"""A normalized-advantage-function agent for Pendulum (seed 002's ``naf_pendulum``).

Run: ``python examples/rl/naf_pendulum.py`` (10,000 environment steps, about a minute on one
core). With these settings seeds 0-5 of the acceptance test (tests/rl/test_acceptance.py) all
reached a greedy mean return better than -400 over 10 episodes within 5,000 steps (a random
policy scores about -1,200) and stayed there.
"""

from __future__ import annotations

import sys

import petri as plx


def main(steps: int = 10_000, model_dir: str = "/tmp/petri_logs/naf_pendulum") -> dict:
    env = plx.envs.GymEnvironment("Pendulum-v1", seed=0)

    def graph_fn(mode, inputs):
        x = plx.layers.FullyConnected(mode, num_units=64, activation="relu")(inputs["state"])
        return plx.layers.FullyConnected(mode, num_units=64, activation="relu")(x)

    def model_fn(features, labels, mode):
        model = plx.models.NAFModel(
            mode,
            graph_fn=graph_fn,
            loss_config=plx.configs.LossConfig(module="mean_squared_error"),
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(module="adam", learning_rate=1e-3),
            exploration_config=plx.configs.ExplorationConfig(
                module="ornstein_uhlenbeck", sigma=0.3
            ),
            action_bounds=(env.action_low, env.action_high),
            tau=0.005,
            discount=0.98,
            summaries="all",
        )
        return model(features, labels)

    memory = plx.rl.memories.Memory(size=100_000, batch_size=64)
    agent = plx.estimators.Agent(
        model_fn=model_fn, memory=memory, model_dir=model_dir, config={"seed": 0, "num_threads": 1}
    )
    agent.train(env, steps=steps, first_update=1000, update_frequency=1, gradient_steps=2)
    return agent.evaluate(plx.envs.GymEnvironment("Pendulum-v1", seed=100), episodes=10)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:2])))
