//! What happens if Rust code panics despite everything.
//!
//! The module is built with `panic=abort`, so a panic ends in a wasm trap
//! (`WebAssembly.RuntimeError: unreachable`) and the instance must not be used
//! again. The hook installed here runs first: it keeps the panic's message and
//! calls the handler the JS package registered with [`set_panic_handler`],
//! which rejects every pending call with an `InternalError` carrying that
//! message and refuses later calls. Without the hook an async call that
//! panicked would never settle.

use std::cell::RefCell;

use js_sys::Function;
use wasm_bindgen::prelude::*;

thread_local! {
    static HANDLER: RefCell<Option<Function>> = const { RefCell::new(None) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the panic hook (once, at instantiation).
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        LAST.with(|l| {
            if let Ok(mut slot) = l.try_borrow_mut() {
                *slot = Some(message.clone());
            }
        });
        let handler = HANDLER.with(|h| h.try_borrow().ok().and_then(|slot| slot.clone()));
        if let Some(handler) = handler {
            let _ = handler.call1(&JsValue::NULL, &JsValue::from_str(&message));
        }
    }));
}

/// Registers `handler(message)`, called when Rust code panics, just before
/// the instance traps.
#[wasm_bindgen(js_name = setPanicHandler)]
pub fn set_panic_handler(handler: Function) {
    HANDLER.with(|h| {
        if let Ok(mut slot) = h.try_borrow_mut() {
            *slot = Some(handler);
        }
    });
}

/// The message of the last panic, if there was one.
#[wasm_bindgen(js_name = lastPanicMessage)]
pub fn last_panic_message() -> Option<String> {
    LAST.with(|l| l.try_borrow().ok().and_then(|slot| slot.clone()))
}

/// Panics on purpose, so that the JS suite can check what a panic turns into.
/// Not part of the package's API.
#[wasm_bindgen(js_name = __panicForTests)]
#[allow(clippy::panic)]
pub fn panic_for_tests(message: &str) {
    panic!("{message}");
}
