//! Compiles the Slint screens in ui/ with the bundled translations (ui/translations). Debug builds
//! (the tests) also get the element debug info the headless UI tests query.

fn main() {
    let debug = std::env::var("PROFILE").as_deref() == Ok("debug");
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations("ui/translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_debug_info(debug);
    if let Err(error) = slint_build::compile_with_config("ui/app.slint", config) {
        panic!("the screens in ui/ do not compile: {error}");
    }
}
