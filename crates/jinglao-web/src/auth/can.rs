//! The permission extractors: `PageCan<need::ManageFacilities>` (or `ApiCan<…>`) in a handler's
//! arguments gives the signed-in caller only if they hold that permission; anyone else is
//! answered 403 (a page visitor who is not signed in is sent to the login page, an API caller
//! without a token gets 401) before the handler runs.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jinglao_domain::Permission;

use super::{ApiUser, CurrentUser, PageUser};
use crate::error::{ApiError, PageError};
use crate::state::AppState;

/// A permission named as a type.
pub trait Needed {
    /// The permission.
    const PERMISSION: Permission;
}

/// One type per permission, for [`PageCan`] and [`ApiCan`].
pub mod need {
    use super::{Needed, Permission};

    macro_rules! needs {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("Needs [`Permission::", stringify!($name), "`].")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Needed for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )*};
    }

    needs!(
        ViewRegions,
        EditRegions,
        ManageAccounts,
        ViewAudit,
        ViewElders,
        EditElders,
        ImportElders,
        RevealIdentifiers,
        ReadAssessments,
        Assess,
        ReviewAssessments,
        ApproveAssessments,
        ManageAgencies,
        ManagePolicy,
        PublishServiceLists,
        ViewProviders,
        ManageProviders,
        OverrideCreditCode,
        ManageFacilities,
        RateFacilities,
        ReviewVisits,
        SettleServices,
        RecordCredit,
        ManageCalendar,
        ManagePurchaseCatalogue,
        PlanPurchases,
        ApprovePurchases,
        PayStatements,
    );
}

/// A signed-in page user holding permission `P`.
#[derive(Debug, Clone)]
pub struct PageCan<P>(pub CurrentUser, pub PhantomData<P>);

impl<S: Send + Sync, P: Needed> FromRequestParts<S> for PageCan<P> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageUser(user) = PageUser::from_request_parts(parts, state).await?;
        user.require(P::PERMISSION)?;
        Ok(PageCan(user, PhantomData))
    }
}

/// An API caller holding permission `P`.
#[derive(Debug, Clone)]
pub struct ApiCan<P>(pub CurrentUser, pub PhantomData<P>);

impl<S, P: Needed> FromRequestParts<S> for ApiCan<P>
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiUser(user) = ApiUser::from_request_parts(parts, state).await?;
        user.require(P::PERMISSION)?;
        Ok(ApiCan(user, PhantomData))
    }
}
