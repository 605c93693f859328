"""A dueling double-DQN agent for CartPole (seed 002's ``dueling_ddqn_cartpole``).

Run: ``python examples/rl/dueling_ddqn_cartpole.py``.
"""

from __future__ import annotations

import sys

import petri as plx


def main(steps: int = 50_000, model_dir: str = "/tmp/petri_logs/dueling_ddqn_cartpole") -> dict:
    env = plx.envs.GymEnvironment("CartPole-v1", seed=0)

    def graph_fn(mode, inputs):
        x = plx.layers.FullyConnected(mode, num_units=128, activation="relu")(inputs["state"])
        return plx.layers.FullyConnected(mode, num_units=128, activation="relu")(x)

    def model_fn(features, labels, mode):
        model = plx.models.DDQNModel(
            mode,
            graph_fn=graph_fn,
            loss_config=plx.configs.LossConfig(module="huber_loss"),
            num_states=env.num_states,
            num_actions=env.num_actions,
            optimizer_config=plx.configs.OptimizerConfig(module="adam", learning_rate=1e-3),
            exploration_config=plx.configs.ExplorationConfig(
                module="linear", initial=1.0, final=0.02, decay_steps=6000
            ),
            target_update_frequency=250,
            dueling="mean",
            n_steps=3,
            summaries="all",
        )
        return model(features, labels)

    memory = plx.rl.memories.Memory(size=50_000, batch_size=64)
    agent = plx.estimators.Agent(
        model_fn=model_fn, memory=memory, model_dir=model_dir, config={"seed": 0, "num_threads": 1}
    )
    agent.train(env, steps=steps, first_update=1000, update_frequency=4, gradient_steps=2)
    return agent.evaluate(plx.envs.GymEnvironment("CartPole-v1", seed=100), episodes=20)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:2])))
