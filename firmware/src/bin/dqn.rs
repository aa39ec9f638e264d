//! Deep Q-learning on the Cortex-M4F (QEMU mps2-an386): the host's cart-pole agent
//! (`neurite_firmware::dqn`: 4-64-64-2 Q-network, target network, Adam, replay of
//! `DEVICE_REPLAY` transitions) trains on the device from its own episodes until the last 100
//! average 195 (or `NEURITE_DQN_STEPS` environment steps, a build-time setting, default
//! 100,000), then its greedy policy is scored over 100 new episodes. Prints the run and the
//! Q-network's hash (the host computes the same bits), the instructions of one training
//! step, and the RAM: the whole run's stack high-water mark (the agent lives on the stack)
//! and the static RAM, against `DQN_RAM_BUDGET`.
#![no_std]
#![no_main]

use neurite::rl::{cartpole_adam, cartpole_agent, cartpole_run_device, CartPoleRun};
use neurite::rng::Rng;
use neurite_firmware::dqn::{Agent, AGENT_RAM, DQN_RAM_BUDGET, ENV_SEED, INIT_SEED, LR};
use neurite_firmware::parity::hash_params;
use neurite_firmware::target::{self, InstructionCounter};

neurite_firmware::exit_on_hardfault!();

extern "C" {
    /// Start of static RAM (`.data`, cortex-m-rt's `link.x`).
    static __sdata: u32;
    /// End of static RAM (`.data`, `.bss`, `.uninit`): the stack may grow down to here.
    static __sheap: u32;
}

/// Environment steps at most: `NEURITE_DQN_STEPS` at build time, else
/// `neurite_firmware::dqn::MAX_STEPS`.
const STEPS: u32 = match option_env!("NEURITE_DQN_STEPS") {
    Some(s) => parse_u32(s),
    None => neurite_firmware::dqn::MAX_STEPS,
};

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "NEURITE_DQN_STEPS: a number");
    let (mut i, mut v) = (0, 0u32);
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "NEURITE_DQN_STEPS: a number");
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

struct Summary {
    run: CartPoleRun,
    hash: u64,
    step_instructions: u32,
}

fn train(counter: &mut InstructionCounter) -> Summary {
    let opt = cartpole_adam(LR).unwrap_or_else(|_| target::exit(false));
    let mut agent: Agent = cartpole_agent(INIT_SEED, opt);
    let mut recent = 0.0f32;
    let run = cartpole_run_device(&mut agent, ENV_SEED, STEPS, &mut |i, r| {
        recent += r;
        if i % 50 == 0 {
            defmt::println!(
                "dqn episode {=usize}: mean return of the last 50 {=f32}",
                i,
                recent / 50.0
            );
            recent = 0.0;
        }
    })
    .unwrap_or_else(|e| {
        defmt::error!("dqn stopped: {}", defmt::Debug2Format(&e));
        target::exit(false)
    });
    let hash = hash_params(&agent.q);
    // one more training step (after the hash): its instructions
    let mut rng = Rng::new(7);
    let mut ok = true;
    let step_instructions = counter.measure(|| ok = agent.train_step(&mut rng).is_ok());
    if !ok {
        target::exit(false);
    }
    Summary { run, hash, step_instructions }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let cp = cortex_m::Peripherals::take().unwrap_or_else(|| target::exit(false));
    let mut counter = InstructionCounter::new(cp.SYST);
    defmt::println!(
        "neurite firmware: deep Q-learning on cart-pole on a Cortex-M4F (QEMU mps2-an386), at most {=u32} steps",
        STEPS
    );
    let mut summary = None;
    // the whole run behind the stack painting: the agent is a local of `train`
    let stack = target::stack_used_by(|| summary = Some(train(&mut counter)));
    let Some(s) = summary else { target::exit(false) };
    // SAFETY-free: only the linker symbols' addresses are taken
    let statics = core::ptr::addr_of!(__sheap) as usize - core::ptr::addr_of!(__sdata) as usize;
    defmt::println!(
        "dqn run: episodes {=usize} steps {=u32} updates {=u32} last_100 {=f32} greedy {=f32}",
        s.run.episodes,
        s.run.steps,
        s.run.updates,
        s.run.last_100,
        s.run.greedy
    );
    defmt::println!("parity dqn {=u64:#018x}", s.hash);
    defmt::println!(
        "dqn memory: agent {=usize} bytes, stack high-water mark {=usize} bytes, static RAM {=usize} bytes, budget {=usize} bytes",
        AGENT_RAM,
        stack,
        statics,
        DQN_RAM_BUDGET
    );
    defmt::println!("dqn instructions: one training step (batch 32) {=u32}", s.step_instructions);
    // a full run (no NEURITE_DQN_STEPS) must have learnt: the training goal and the greedy
    // policy's mean both at least 195
    let learnt = option_env!("NEURITE_DQN_STEPS").is_some()
        || (s.run.last_100 >= 195.0 && s.run.greedy >= 195.0);
    let ok = stack + statics <= DQN_RAM_BUDGET && s.run.greedy.is_finite() && learnt;
    defmt::println!("dqn {=str}", if ok { "passed" } else { "FAILED" });
    target::exit(ok)
}
