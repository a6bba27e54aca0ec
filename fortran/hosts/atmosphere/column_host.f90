!> LMDZ-style physics driver of the column host, with the convection scheme chosen at run
!> time: the Fortran reference (`convection_reference`) or an exported climlearn network.
!>
!> `physiq` is called once per physics step on the klon columns of this MPI rank, arrays
!> (klon, klev) as in LMDZ (level 1 the lowest layer). With scheme 'ml' the network is
!> called ONCE per step on all klon columns by `ml_forward_columns`, the one routine that
!> talks to climlearn (so that it can later be swapped for a generic layout helper). The
!> network maps x(2*klev, ncol) = (T, q) to y(2*klev, ncol) = (dT/dt, dq/dt); `ml_constrain`
!> then applies two documented physical constraints:
!> 1. bounds: |dT/dt| <= max_dtdt, |dq/dt| <= max_dqdt (namelist; the reference scheme
!>    stays well inside them once spun up), and no negative humidity: dq/dt >= -q/dtime;
!> 2. column enthalpy conservation: dT/dt is corrected, in proportion to |dT/dt| on each
!>    level, so that sum (cp dT/dt + L dq/dt) dp/g = 0 (as the reference scheme does).
!> Precipitation is then derived from the water budget, P = -sum(dq/dt dp)/g.
module column_host
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use climlearn, only: cl_model, cl_model_forward, CL_OK
  use column_physics, only: cp_relaxation, cp_surface_evaporation, cp_dry_adjustment, &
                            convection_reference, cp_large_scale_condensation
  implicit none
  private

  public :: physiq, ml_forward_columns, ml_constrain, host_diag, SCHEME_REFERENCE, SCHEME_ML

  integer, parameter :: dp = real64
  real(dp), parameter :: cp_air = 1004.64_dp, lv = 2.5e6_dp, grav = 9.80_dp

  !> Scheme codes.
  integer, parameter :: SCHEME_REFERENCE = 0, SCHEME_ML = 1

  !> Per-step diagnostics of the convection call, per column.
  type :: host_diag
    !> Seconds spent in the convection scheme (reference or network + constraints).
    real(dp) :: conv_seconds = 0.0_dp
    !> Column enthalpy residual sum (cp dT + L dq) dp/g of the network output before
    !> the constraints, W m-2 (0 for the reference scheme).
    real(dp), allocatable :: resid_raw(:)
    !> The same for the tendencies applied, W m-2.
    real(dp), allocatable :: resid(:)
    !> Convective tendencies applied (K s-1, kg kg-1 s-1) and precipitation (kg m-2 s-1).
    real(dp), allocatable :: d_t(:, :), d_q(:, :), pr_conv(:)
  end type host_diag

contains

  !> One physics step on klon columns (LMDZ physiq-like): Held-Suarez relaxation,
  !> surface evaporation, dry adjustment, convection (scheme), large-scale condensation.
  !> precip is the total precipitation of the step (kg m-2 s-1). stat /= 0 (with errmsg)
  !> when the network call failed; the state is then left after dry adjustment.
  subroutine physiq(klon, klev, dtime, lat, paprs, pplay, t, q, precip, scheme, model, &
                    tau_evap, x, y, diag, stat, errmsg, max_dtdt, max_dqdt)
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: dtime                  !< time step, s
    real(dp), intent(in) :: lat(klon)              !< latitude, degrees north
    real(dp), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(dp), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(dp), intent(inout) :: t(klon, klev)       !< temperature, K
    real(dp), intent(inout) :: q(klon, klev)       !< specific humidity, kg kg-1
    real(dp), intent(out) :: precip(klon)          !< precipitation, kg m-2 s-1
    integer, intent(in) :: scheme                  !< SCHEME_REFERENCE or SCHEME_ML
    type(cl_model), intent(in) :: model            !< the network (scheme = SCHEME_ML)
    real(dp), intent(in) :: tau_evap               !< evaporation time scale, s
    real(real32), intent(inout), contiguous :: x(:, :)  !< work (2*klev, klon)
    real(real32), intent(inout), contiguous :: y(:, :)  !< work (2*klev, klon)
    type(host_diag), intent(inout) :: diag         !< diagnostics (arrays allocated here)
    integer, intent(out) :: stat                   !< 0 on success
    character(len=*), intent(inout) :: errmsg      !< message when stat /= 0
    real(dp), intent(in) :: max_dtdt               !< bound on |dT/dt| (ml), K s-1
    real(dp), intent(in) :: max_dqdt               !< bound on |dq/dt| (ml), kg kg-1 s-1
    real(dp) :: dpl(klon, klev)
    integer(int64) :: c0, c1, rate
    integer :: k

    stat = CL_OK
    if (.not. allocated(diag%d_t)) then
      allocate (diag%resid_raw(klon), diag%resid(klon), diag%d_t(klon, klev), &
                diag%d_q(klon, klev), diag%pr_conv(klon))
    end if
    do k = 1, klev
      dpl(:, k) = paprs(:, k) - paprs(:, k + 1)
    end do
    call cp_relaxation(klon, klev, dtime, lat, paprs, pplay, t)
    call cp_surface_evaporation(klon, klev, dtime, tau_evap, pplay, t, q)
    call cp_dry_adjustment(klon, klev, paprs, pplay, t)
    call system_clock(c0, rate)
    if (scheme == SCHEME_ML) then
      call ml_forward_columns(model, klon, klev, t, q, x, y, diag%d_t, diag%d_q, stat, errmsg)
      if (stat /= CL_OK) return
      diag%resid_raw = enthalpy_residual(klon, klev, dpl, diag%d_t, diag%d_q)
      call ml_constrain(klon, klev, dtime, dpl, q, max_dtdt, max_dqdt, diag%d_t, diag%d_q, &
                        diag%pr_conv)
    else
      call convection_reference(klon, klev, paprs, pplay, t, q, dtime, diag%d_t, diag%d_q, &
                                diag%pr_conv)
      diag%resid_raw = 0.0_dp
    end if
    call system_clock(c1)
    diag%conv_seconds = real(c1 - c0, dp) / real(rate, dp)
    diag%resid = enthalpy_residual(klon, klev, dpl, diag%d_t, diag%d_q)
    t = t + dtime * diag%d_t
    q = q + dtime * diag%d_q
    precip = diag%pr_conv
    call cp_large_scale_condensation(klon, klev, dtime, paprs, pplay, t, q, precip)
  end subroutine physiq

  !> The network on all klon columns in ONE call: (T, q)(klon, klev) are transposed into
  !> x(2*klev, klon) (features first, columns last, the climlearn layout), the model maps
  !> x to y = (dT/dt, dq/dt)(2*klev, klon), transposed back into d_t, d_q (klon, klev).
  subroutine ml_forward_columns(model, klon, klev, t, q, x, y, d_t, d_q, stat, errmsg)
    type(cl_model), intent(in) :: model            !< loaded network
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: t(klon, klev)          !< temperature, K
    real(dp), intent(in) :: q(klon, klev)          !< specific humidity, kg kg-1
    real(real32), intent(inout), contiguous :: x(:, :)  !< work (2*klev, klon)
    real(real32), intent(inout), contiguous :: y(:, :)  !< work (2*klev, klon)
    real(dp), intent(out) :: d_t(klon, klev)       !< K s-1
    real(dp), intent(out) :: d_q(klon, klev)       !< kg kg-1 s-1
    integer, intent(out) :: stat                   !< 0 on success
    character(len=*), intent(inout) :: errmsg      !< message when stat /= 0
    integer :: i
    do i = 1, klon
      x(1:klev, i) = real(t(i, :), real32)
      x(klev + 1:2 * klev, i) = real(q(i, :), real32)
    end do
    call cl_model_forward(model, x, y, stat=stat, errmsg=errmsg)
    if (stat /= CL_OK) return
    do i = 1, klon
      d_t(i, :) = real(y(1:klev, i), dp)
      d_q(i, :) = real(y(klev + 1:2 * klev, i), dp)
    end do
  end subroutine ml_forward_columns

  !> Physical constraints on emulated tendencies (see the module header): q >= 0 after
  !> the step, then column enthalpy conservation by a |dT|-weighted correction of dT;
  !> precip = max(0, -sum(d_q dp)/g).
  subroutine ml_constrain(klon, klev, dtime, dpl, q, max_dtdt, max_dqdt, d_t, d_q, precip)
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: dtime                  !< time step, s
    real(dp), intent(in) :: dpl(klon, klev)        !< layer thickness, Pa
    real(dp), intent(in) :: q(klon, klev)          !< specific humidity, kg kg-1
    real(dp), intent(in) :: max_dtdt               !< bound on |dT/dt|, K s-1
    real(dp), intent(in) :: max_dqdt               !< bound on |dq/dt|, kg kg-1 s-1
    real(dp), intent(inout) :: d_t(klon, klev)     !< K s-1
    real(dp), intent(inout) :: d_q(klon, klev)     !< kg kg-1 s-1
    real(dp), intent(out) :: precip(klon)          !< kg m-2 s-1
    real(dp) :: resid(klon), wsum
    integer :: i
    d_t = max(-max_dtdt, min(max_dtdt, d_t))
    d_q = max(-max_dqdt, min(max_dqdt, d_q))
    d_q = max(d_q, -max(q, 0.0_dp) / dtime)
    resid = enthalpy_residual(klon, klev, dpl, d_t, d_q)
    do i = 1, klon
      wsum = sum(abs(d_t(i, :)) * dpl(i, :)) / grav
      if (wsum > 0.0_dp) d_t(i, :) = d_t(i, :) - resid(i) / (cp_air * wsum) * abs(d_t(i, :))
      precip(i) = max(0.0_dp, -sum(d_q(i, :) * dpl(i, :)) / grav)
    end do
  end subroutine ml_constrain

  !> Column enthalpy tendency sum (cp dT/dt + L dq/dt) dp / g, W m-2.
  pure function enthalpy_residual(klon, klev, dpl, d_t, d_q) result(r)
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: dpl(klon, klev), d_t(klon, klev), d_q(klon, klev)
    real(dp) :: r(klon)
    r = sum((cp_air * d_t + lv * d_q) * dpl, dim=2) / grav
  end function enthalpy_residual

end module column_host
