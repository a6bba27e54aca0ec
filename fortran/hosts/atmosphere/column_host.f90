!> LMDZ-style physics driver of the column host, with the convection scheme chosen at run
!> time: the Fortran reference (`convection_reference`) or an exported climlearn network.
!>
!> `physiq` is called once per physics step on the klon columns of this MPI rank, arrays
!> (klon, klev) as in LMDZ (level 1 the lowest layer). With scheme 'ml' the network is
!> called ONCE per step on all klon columns by `ml_forward_columns`, through the
!> climlearn layout helper `cl_layout_forward` (it packs the (klon, klev) fields into
!> the model's x(nin, klon) and unpacks y(2*klev, klon) = (dT/dt, dq/dt)). The model's
!> input size nin selects the inputs: (T, q) (nin = 2*klev) or (T, q, T_ref - T,
!> q_ref - q, cloud-layer mask, deep-regime mask) (nin = 6*klev: the Betts-Miller
!> features of `cp_bm_features`, computed here before the call by the same routine the
!> Python training uses). For a 6*klev model `ml_cloud_layer` then zeroes the
!> tendencies outside the cloud layer and closes the column enthalpy by a uniform dT
!> over it (as the training does). `ml_constrain` finally applies two documented
!> physical constraints:
!> 1. bounds: |dT/dt| <= max_dtdt, |dq/dt| <= max_dqdt (namelist; the reference scheme
!>    stays well inside them once spun up), and no negative humidity: dq/dt >= -q/dtime;
!> 2. column enthalpy conservation: dT/dt is corrected, in proportion to |dT/dt| on each
!>    level, so that sum (cp dT/dt + L dq/dt) dp/g = 0 (as the reference scheme does).
!> Precipitation is then derived from the water budget, P = -sum(dq/dt dp)/g.
module column_host
  use, intrinsic :: iso_fortran_env, only: real64, int64
  use climlearn, only: cl_model, cl_layout, cl_layout_forward, cl_field, CL_OK, &
                       CL_ERR_ARGUMENT
  use column_physics, only: cp_relaxation, cp_surface_evaporation, cp_dry_adjustment, &
                            convection_reference, cp_large_scale_condensation, cp_bm_features
  implicit none
  private

  public :: physiq, ml_forward_columns, ml_cloud_layer, ml_constrain, host_diag, &
            SCHEME_REFERENCE, SCHEME_ML

  integer, parameter :: dp = real64
  real(dp), parameter :: cp_air = 1004.64_dp, lv = 2.5e6_dp, grav = 9.80_dp

  !> Scheme codes.
  integer, parameter :: SCHEME_REFERENCE = 0, SCHEME_ML = 1

  !> The layout of the network calls: every column of the rank, one call per step.
  type(cl_layout), save :: layout

  !> Per-step diagnostics of the convection call, per column.
  type :: host_diag
    !> Seconds spent in the convection scheme (reference or network + constraints).
    real(dp) :: conv_seconds = 0.0_dp
    !> The same as CPU time of the process (does not count waiting for a core).
    real(dp) :: conv_cpu_seconds = 0.0_dp
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
                    tau_evap, nin, diag, stat, errmsg, max_dtdt, max_dqdt)
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
    integer, intent(in) :: nin                     !< model inputs per column, 2 or 6 klev
    type(host_diag), intent(inout) :: diag         !< diagnostics (arrays allocated here)
    integer, intent(out) :: stat                   !< 0 on success
    character(len=*), intent(inout) :: errmsg      !< message when stat /= 0
    real(dp), intent(in) :: max_dtdt               !< bound on |dT/dt| (ml), K s-1
    real(dp), intent(in) :: max_dqdt               !< bound on |dq/dt| (ml), kg kg-1 s-1
    real(dp) :: dpl(klon, klev), mask(klon, klev)
    integer(int64) :: c0, c1, rate
    real(dp) :: u0, u1
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
    call cpu_time(u0)
    if (scheme == SCHEME_ML) then
      call ml_forward_columns(model, klon, klev, paprs, pplay, t, q, nin, diag%d_t, &
                              diag%d_q, mask, stat, errmsg)
      if (stat /= CL_OK) return
      diag%resid_raw = enthalpy_residual(klon, klev, dpl, diag%d_t, diag%d_q)
      if (nin == 6 * klev) call ml_cloud_layer(klon, klev, dpl, mask, diag%d_t, diag%d_q)
      call ml_constrain(klon, klev, dtime, dpl, q, max_dtdt, max_dqdt, diag%d_t, diag%d_q, &
                        diag%pr_conv)
    else
      call convection_reference(klon, klev, paprs, pplay, t, q, dtime, diag%d_t, diag%d_q, &
                                diag%pr_conv)
      diag%resid_raw = 0.0_dp
    end if
    call system_clock(c1)
    call cpu_time(u1)
    diag%conv_seconds = real(c1 - c0, dp) / real(rate, dp)
    diag%conv_cpu_seconds = u1 - u0
    diag%resid = enthalpy_residual(klon, klev, dpl, diag%d_t, diag%d_q)
    t = t + dtime * diag%d_t
    q = q + dtime * diag%d_q
    precip = diag%pr_conv
    call cp_large_scale_condensation(klon, klev, dtime, paprs, pplay, t, q, precip)
  end subroutine physiq

  !> The network on all klon columns in ONE call, through the climlearn layout helper
  !> `cl_layout_forward` (all columns, one chunk: it packs the (klon, klev) fields into
  !> the model's x(nin, klon), features first, columns last, and unpacks y into d_t, d_q).
  !> The inputs are (T, q)(klon, klev), and with nin = 6*klev also the features
  !> (T_ref - T, q_ref - q, mask, deep)(klon, klev) of `cp_bm_features`, whose cloud-layer
  !> mask is returned in `mask` (1 everywhere for nin = 2*klev); the outputs (dT/dt,
  !> dq/dt). stat = CL_ERR_ARGUMENT when nin is neither 2*klev nor 6*klev.
  subroutine ml_forward_columns(model, klon, klev, paprs, pplay, t, q, nin, d_t, d_q, &
                                mask, stat, errmsg)
    type(cl_model), intent(in) :: model            !< loaded network
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: paprs(klon, klev + 1)  !< half-level pressure, Pa
    real(dp), intent(in) :: pplay(klon, klev)      !< full-level pressure, Pa
    real(dp), intent(in), target :: t(klon, klev)  !< temperature, K
    real(dp), intent(in), target :: q(klon, klev)  !< specific humidity, kg kg-1
    integer, intent(in) :: nin                     !< the model's inputs per column
    real(dp), intent(out), target :: d_t(klon, klev)  !< K s-1
    real(dp), intent(out), target :: d_q(klon, klev)  !< kg kg-1 s-1
    real(dp), intent(out), target :: mask(klon, klev) !< cloud-layer mask
    integer, intent(out) :: stat                   !< 0 on success
    character(len=*), intent(inout) :: errmsg      !< message when stat /= 0
    real(dp), target :: tdep(klon, klev), qdep(klon, klev), deep(klon, klev)
    if (nin == 2 * klev) then
      mask = 1.0_dp
      call cl_layout_forward(layout, model, [cl_field(t), cl_field(q)], &
                             [cl_field(d_t), cl_field(d_q)], stat=stat, errmsg=errmsg)
    else if (nin == 6 * klev) then
      call cp_bm_features(klon, klev, paprs, pplay, t, q, tdep, qdep, mask, deep)
      call cl_layout_forward(layout, model, [cl_field(t), cl_field(q), cl_field(tdep), &
                             cl_field(qdep), cl_field(mask), cl_field(deep)], &
                             [cl_field(d_t), cl_field(d_q)], stat=stat, errmsg=errmsg)
    else
      stat = CL_ERR_ARGUMENT
      write (errmsg, '(a, i0, a, i0, a, i0, a)') 'ml_forward_columns: the model takes ', &
        nin, ' inputs per column; the host provides 2*klev = ', 2 * klev, &
        ' (T, q) or 6*klev = ', 6 * klev, ' (T, q, T_ref - T, q_ref - q, mask, deep)'
    end if
  end subroutine ml_forward_columns

  !> Cloud-layer structure of the Betts-Miller scheme, applied to the tendencies of a
  !> model with the cloud-layer features: zero outside the cloud layer (mask), and the
  !> column enthalpy residual r = sum (cp dT/dt + L dq/dt) dp removed by a uniform dT
  !> over the cloud layer, -r / (cp sum(mask dp)) (the deep scheme's closure). The
  !> training applies the same (climlearn.testbeds.column.emulators.cloud_layer_closure).
  subroutine ml_cloud_layer(klon, klev, dpl, mask, d_t, d_q)
    integer, intent(in) :: klon, klev
    real(dp), intent(in) :: dpl(klon, klev)        !< layer thickness, Pa
    real(dp), intent(in) :: mask(klon, klev)       !< cloud-layer mask (0 or 1)
    real(dp), intent(inout) :: d_t(klon, klev)     !< K s-1
    real(dp), intent(inout) :: d_q(klon, klev)     !< kg kg-1 s-1
    real(dp) :: mass, resid
    integer :: i
    d_t = d_t * mask
    d_q = d_q * mask
    do i = 1, klon
      mass = sum(mask(i, :) * dpl(i, :))
      if (mass <= 0.0_dp) cycle
      resid = sum((cp_air * d_t(i, :) + lv * d_q(i, :)) * dpl(i, :))
      d_t(i, :) = d_t(i, :) - mask(i, :) * resid / (cp_air * mass)
    end do
  end subroutine ml_cloud_layer

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
