"""A DQN agent for CartPole, seed 002's ``dqn_cartpole`` on Petri (rl-baselines3-zoo settings).

Run: ``python examples/rl/dqn_cartpole.py`` (about 50,000 environment steps).
"""

from __future__ import annotations

import sys

import petri as plx


def main(steps: int = 50_000, model_dir: str = "/tmp/petri_logs/dqn_cartpole") -> dict:
    env = plx.envs.GymEnvironment("CartPole-v1", seed=0)

    def graph_fn(mode, inputs):
        x = plx.layers.FullyConnected(mode, num_units=256, activation="relu")(inputs["state"])
        return plx.layers.FullyConnected(mode, num_units=256, activation="relu")(x)

    def model_fn(features, labels, mode):
        model = plx.models.DQNModel(
            mode,
            graph_fn=graph_fn,
            loss_config=plx.configs.LossConfig(module="huber_loss"),
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(module="adam", learning_rate=2.3e-3),
            exploration_config=plx.configs.ExplorationConfig(
                module="linear", initial=1.0, final=0.04, decay_steps=8000
            ),
            target_update_frequency=128,
            summaries="all",
        )
        return model(features, labels)

    memory = plx.rl.memories.Memory(size=100_000, batch_size=64)
    agent = plx.estimators.Agent(
        model_fn=model_fn, memory=memory, model_dir=model_dir, config={"seed": 0, "num_threads": 1}
    )
    agent.train(env, steps=steps, first_update=1000, update_frequency=256, gradient_steps=128)
    return agent.evaluate(plx.envs.GymEnvironment("CartPole-v1", seed=100), episodes=20)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:2])))
