fn main() {
    slint_build::compile("ui/signage.slint").expect("ui/signage.slint must compile");
}
