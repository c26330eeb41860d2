//! A WebAssembly component that is no switchyard plugin: it implements a world of its own, so
//! loading it must fail with "matches no switchyard plugin world".

#![cfg(target_arch = "wasm32")]
// The generated bindings use `unsafe` for the canonical ABI.
#![allow(unsafe_code, missing_docs)]

wit_bindgen::generate!({
    inline: "
        package test:unknown@0.1.0;

        world calculator {
            export add: func(a: u32, b: u32) -> u32;
        }
    ",
});

struct Calculator;

impl Guest for Calculator {
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
}

export!(Calculator);
