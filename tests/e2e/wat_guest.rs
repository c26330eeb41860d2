//! Access-provider components made from a core module in WebAssembly text: for guests no
//! source language produces (several linear memories, raw canonical-ABI calls into the host).
//!
//! The core module is written against the canonical ABI of the `access-provider` world
//! (`wit/`); `wit-component` wraps it into a component with the world's types. The module gets
//! a fixed prelude: its main memory (exported as `memory`), a bump `cabi_realloc`, the `host`
//! import `$log`, and `describe` and `configure` answering the name `name` and `ok`. The caller
//! writes `authenticate`, which receives the request head flattened (ten `i32` and one `i64`)
//! and returns the address of an `outcome`; address 192 holds `not-handled`.

/// A component of the `access-provider` world named `name` (at most 16 bytes), whose core
/// module holds the prelude, `extra` module fields (memories, data...) and `authenticate_body`
/// (the body of `authenticate`, returning an `i32` address).
pub(crate) fn access_provider(name: &str, extra: &str, authenticate_body: &str) -> Vec<u8> {
    assert!(name.len() <= 16);
    let core = format!(
        r#"(module
  (import "switchyard:plugin/host@0.1.0" "log" (func $log (param i32 i32 i32 i32 i32)))
  (memory $main (export "memory") 1)
  {extra}
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32)
    ;; Align up, bump, grow the main memory when needed.
    (local.set $at
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $at) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size $main) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow $main
              (i32.add (i32.div_u (i32.sub (global.get $heap)
                  (i32.mul (memory.size $main) (i32.const 65536))) (i32.const 65536))
                (i32.const 1)))
            (i32.const -1))
          (then unreachable))))
    (local.get $at))
  (data (memory $main) (i32.const 16) "{name}")
  (data (memory $main) (i32.const 32) "0.0.1")
  ;; provider-info at 64: name (16, len), version (32, 5), header-names none.
  (data (memory $main) (i32.const 64) "\10\00\00\00{len}\00\00\00\20\00\00\00\05\00\00\00\00")
  ;; result<_, string> ok at 128; outcome not-handled at 192.
  (data (memory $main) (i32.const 192) "\01")
  (func (export "switchyard:plugin/access@0.1.0#describe") (result i32) (i32.const 64))
  (func (export "switchyard:plugin/access@0.1.0#configure") (param i32 i32) (result i32)
    (i32.const 128))
  (func (export "switchyard:plugin/access@0.1.0#authenticate")
    (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64) (result i32)
    {authenticate_body})
)"#,
        len = format_args!("\\{:02x}", name.len()),
    );
    let mut module = wat::parse_str(&core).expect("the core module parses");
    let mut resolve = wit_parser::Resolve::default();
    let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (package, _) = resolve.push_dir(&wit).expect("the WIT package");
    let world = resolve
        .select_world(&[package], Some("access-provider"))
        .expect("the access-provider world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata embedded");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("a module of the world")
        .validate(true)
        .encode()
        .expect("the component encodes")
}
