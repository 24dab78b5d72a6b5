//! Enumerations with a stable English name (database, API) and a Chinese label (screens,
//! import files), declared once with [`labelled_enum!`].

/// Declares an enum whose variants each have a stable name and a Chinese label, with `ALL`,
/// `as_str`, `label`, and `parse` (accepting either spelling).
///
/// ```
/// jinglao_domain::labelled_enum! {
///     /// Colours.
///     pub enum Colour { Red = ("red", "红"), Blue = ("blue", "蓝") }
/// }
/// assert_eq!(Colour::parse("红"), Some(Colour::Red));
/// ```
#[macro_export]
macro_rules! labelled_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($stable:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $stable)] $variant),+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name (database, API).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $stable),+ }
            }

            /// The Chinese label (screens, import files).
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// From the stable name or the Chinese label.
            pub fn parse(text: &str) -> Option<$name> {
                let t = text.trim();
                $name::ALL.iter().copied().find(|v| v.as_str() == t || v.label() == t)
            }

            /// The Chinese labels joined with "、", for error messages.
            pub fn labels_list() -> String {
                $name::ALL.iter().map(|v| v.label()).collect::<Vec<_>>().join("、")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}
