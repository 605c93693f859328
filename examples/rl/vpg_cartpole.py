"""A vanilla policy-gradient agent (REINFORCE with baseline) for CartPole (seed 002's
``vpg_cartpole``).

Run: ``python examples/rl/vpg_cartpole.py``.
"""

from __future__ import annotations

import sys

import petri as plx


def main(steps: int = 200_000, model_dir: str = "/tmp/petri_logs/vpg_cartpole") -> dict:
    env = plx.envs.GymEnvironment("CartPole-v1", seed=0, num_envs=4)

    def graph_fn(mode, inputs):
        return plx.layers.FullyConnected(mode, num_units=64, activation="tanh")(inputs["state"])

    def model_fn(features, labels, mode):
        model = plx.models.VPGModel(
            mode,
            graph_fn=graph_fn,
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(module="adam", learning_rate=1e-2),
            summaries="all",
        )
        return model(features, labels)

    memory = plx.rl.memories.BatchMemory(batch_size=2000)
    agent = plx.estimators.PGAgent(
        model_fn=model_fn, memory=memory, model_dir=model_dir, config={"seed": 0, "num_threads": 1}
    )
    agent.train(env, steps=steps)
    return agent.evaluate(plx.envs.GymEnvironment("CartPole-v1", seed=100), episodes=20)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:2])))
