!> The emulated vertical mixing of the ocean host run_ocean, through the layout helper of
!> climlearn, with the guard on: a column whose network output is not finite gets the
!> reference Pacanowski-Philander scheme (ocean_physics's `mixing`) instead.
!>
!> ```fortran
!> call oml_init(own == 1, e3w)                          ! once: this rank's water columns
!> call oml_mixing(model, t, u, v, avt, avm, wfwd, ierr, msg)   ! each step, wfwd(2)
!> call oml_guard_columns(nbad)                           ! columns overruled so far
!> ```
!>
!> Two kinds of network (`oml_init`'s `pointwise`):
!>
!> Pointwise (per interface): the network takes x(2) = [r, e] at one interior W point,
!> r = N2+ / (N2+ + max(S2, s2_min)) = Ri / (1 + Ri) and e = 1 where N2 <= n2_evd (static
!> instability) else 0, N2 and S2 as in the scheme, and returns y(2) = [avt, avm] there
!> (m2 s-1; the exported network learned log10 values and ends with the exponential).
!> All interfaces of this rank's water columns form ONE batch, x(2, ncol (jpk-1)),
!> interface p = c + (k-1) ncol for column c and level k, in work arrays allocated once
!> by `oml_init`; one `cl_model_forward` call per step. Guard: a column with a
!> non-finite y, or y outside [1e-12, 1e3] m2 s-1, gets the reference scheme.
!>
!> Whole column: the network takes the T, u, v profiles of a column, x(3 jpk), and returns
!> y = [log10 avt, log10 avm] on the jpk-1 interior W levels. `cl_layout_forward` gathers
!> the columns of the mask, runs the network once on all of them and scatters y into
!> log10 fields; this module then writes 10**y into avt and avm on the columns the guard
!> accepted. The guard's reference procedure `pp_columns` is a module procedure (an
!> internal one would need a trampoline, hence an executable stack).
module ocean_ml_mixing
  use, intrinsic :: iso_c_binding, only: c_double, c_float, c_int
  use, intrinsic :: iso_fortran_env, only: int64
  use mpi, only: MPI_Wtime
  use climlearn, only: cl_model, cl_layout, cl_layout_init, cl_layout_forward, cl_field, &
                       cl_layout_counts, cl_model_forward
  use ocean_physics, only: mixing, oc_constants
  implicit none
  private

  public :: oml_init, oml_mixing, oml_guard_columns, cpu_seconds

  !> The columns run by the network (this rank's water columns).
  type(cl_layout), save :: layout
  !> Distance between T levels (m), for the reference scheme.
  real(c_double), allocatable, save :: e3w_ref(:)
  !> The network's output on the host grid: log10 avt, log10 avm (jpi, jpj, jpk-1).
  real(c_double), allocatable, target, save :: ly_t(:, :, :), ly_m(:, :, :)
  !> The layout's columns; those the guard rejected in the current call.
  logical, allocatable, save :: incol(:, :), rejected(:, :)
  !> Mask of the columns given to the reference scheme (1 = rejected).
  integer(c_int), allocatable, save :: refmask(:, :)
  !> The state and the mixing coefficients of the current call, for `pp_columns`.
  real(c_double), pointer, contiguous, save :: pt(:, :, :) => null(), pu(:, :, :) => null(), &
                                               pv(:, :, :) => null(), &
                                               pavt(:, :, :) => null(), &
                                               pavm(:, :, :) => null()

  !> Pointwise network: on/off, columns (i, j) of this rank and their flat indices, the
  !> batch x(2, npoint) and y(2, npoint), 1 / e3w and 1 / e3w**2, the features of one
  !> level, constants, columns given to the reference.
  logical, save :: pointwise = .false.
  integer, save :: ncol = 0
  integer, allocatable, save :: ci(:), cj(:), fc(:)
  real(c_double), allocatable, save :: xp(:, :), yp(:, :), rdz(:), rdz2(:), plane_r(:), &
                                        plane_e(:)
  !> A float32 pointwise network: the batch in single precision (xs, ys instead of xp, yp).
  logical, save :: single = .false.
  real(c_float), allocatable, save :: xs(:, :), ys(:, :)
  real(c_double), save :: gal = 0, s2min = 0, n2evd = 0
  integer(int64), save :: nbad_pw = 0
  !> Accepted range of the pointwise network's avt and avm (m2 s-1).
  real(c_double), parameter :: avlo = 1.0e-12_c_double, avhi = 1.0e3_c_double

contains

  !> Choose the columns the network runs on, once before the time loop; `pointwise` (default
  !> false) selects the per-interface network (module documentation).
  subroutine oml_init(mask, e3w, pointwise_net, single_precision)
    logical, intent(in) :: mask(:, :)              !< true = this rank computes the column
    real(c_double), intent(in) :: e3w(:)           !< distance between T levels (jpk-1), m
    logical, intent(in), optional :: pointwise_net !< the network is per interface
    !> the pointwise network takes and returns float32 (default: float64)
    logical, intent(in), optional :: single_precision
    integer :: ni, nj, nk, i, j, c
    real(c_double) :: cst(19)
    ni = size(mask, 1)
    nj = size(mask, 2)
    nk = size(e3w) + 1
    pointwise = .false.
    if (present(pointwise_net)) pointwise = pointwise_net
    single = .false.
    if (present(single_precision)) single = single_precision
    if (pointwise) then
      call oc_constants(cst)
      gal = cst(3) * cst(4)          ! grav alpha_t
      n2evd = cst(13)
      s2min = cst(14)
      ncol = count(mask)
      if (allocated(ci)) deallocate (ci, cj, fc, rdz, rdz2, plane_r, plane_e)
      if (allocated(xp)) deallocate (xp, yp)
      if (allocated(xs)) deallocate (xs, ys)
      allocate (ci(ncol), cj(ncol), fc(ncol), rdz(nk - 1), rdz2(nk - 1), plane_r(ni * nj), &
                plane_e(ni * nj))
      if (single) then
        allocate (xs(2, ncol * (nk - 1)), ys(2, ncol * (nk - 1)))
      else
        allocate (xp(2, ncol * (nk - 1)), yp(2, ncol * (nk - 1)))
      end if
      c = 0
      do j = 1, nj
        do i = 1, ni
          if (.not. mask(i, j)) cycle
          c = c + 1
          ci(c) = i
          cj(c) = j
          fc(c) = i + (j - 1) * ni
        end do
      end do
      rdz = 1.0_c_double / e3w
      rdz2 = rdz * rdz
      nbad_pw = 0
    end if
    call cl_layout_init(layout, mask)
    if (allocated(ly_t)) deallocate (ly_t, ly_m, rejected, refmask)
    allocate (ly_t(ni, nj, nk - 1), ly_m(ni, nj, nk - 1), rejected(ni, nj), refmask(ni, nj))
    e3w_ref = e3w
    incol = mask
    ly_t = 0.0_c_double
    ly_m = 0.0_c_double
  end subroutine oml_init

  !> The emulated scheme on the columns of `oml_init`'s mask: avt, avm = 10**y where the
  !> network's outputs are finite, the reference scheme on the other columns. Columns
  !> outside the mask are untouched. `wfwd` accumulates the seconds (wall, CPU) of the layout call
  !> (gather, network, guard, scatter of y, reference fallback). On error (stat /= 0)
  !> errmsg holds the layout helper's message and avt, avm may be partly written.
  subroutine oml_mixing(net, t, u, v, avt, avm, wfwd, stat, errmsg)
    type(cl_model), intent(inout) :: net                             !< the loaded network
    real(c_double), intent(in), target, contiguous :: t(:, :, :)     !< temperature, degC
    real(c_double), intent(in), target, contiguous :: u(:, :, :)     !< zonal velocity, m s-1
    real(c_double), intent(in), target, contiguous :: v(:, :, :)     !< meridional, m s-1
    real(c_double), intent(inout), target, contiguous :: avt(:, :, :)  !< m2 s-1
    real(c_double), intent(inout), target, contiguous :: avm(:, :, :)  !< m2 s-1
    real(c_double), intent(inout) :: wfwd(2)                         !< seconds: wall, CPU
    integer, intent(out) :: stat                                     !< 0 = success
    character(len=*), intent(out) :: errmsg                          !< the error, if any
    real(c_double), parameter :: ln10 = log(10.0_c_double)
    integer :: i, j, k
    real(c_double) :: w, cw
    errmsg = ''
    if (pointwise) then
      call mixing_pointwise(net, t, u, v, avt, avm, wfwd, stat, errmsg)
      return
    end if
    pt => t
    pu => u
    pv => v
    pavt => avt
    pavm => avm
    w = MPI_Wtime()
    cw = cpu_seconds()
    call cl_layout_forward(layout, net, [cl_field(pt), cl_field(pu), cl_field(pv)], &
                           [cl_field(ly_t), cl_field(ly_m)], reference=pp_columns, &
                           bad=rejected, stat=stat, errmsg=errmsg)
    wfwd(1) = wfwd(1) + (MPI_Wtime() - w)
    wfwd(2) = wfwd(2) + (cpu_seconds() - cw)
    nullify (pt, pu, pv, pavt, pavm)
    if (stat /= 0) return
    ! 10**y on the accepted columns (the reference scheme wrote the rejected ones)
    do j = 1, size(avt, 2)
      do i = 1, size(avt, 1)
        if (.not. incol(i, j) .or. rejected(i, j)) cycle
        do k = 1, size(avt, 3)
          avt(i, j, k) = exp(ln10 * ly_t(i, j, k))
          avm(i, j, k) = exp(ln10 * ly_m(i, j, k))
        end do
      end do
    end do
  end subroutine oml_mixing

  !> The pointwise network on every interface of the columns (features, one forward call,
  !> store, guard with the reference scheme). `wfwd` accumulates the forward call alone
  !> (wall and CPU seconds).
  subroutine mixing_pointwise(net, t, u, v, avt, avm, wfwd, stat, errmsg)
    type(cl_model), intent(inout) :: net
    real(c_double), intent(in), target, contiguous :: t(:, :, :), u(:, :, :), v(:, :, :)
    real(c_double), intent(inout), target, contiguous :: avt(:, :, :), avm(:, :, :)
    real(c_double), intent(inout) :: wfwd(2)
    integer, intent(out) :: stat
    character(len=*), intent(out) :: errmsg
    real(c_double) :: w, cw
    integer :: nij, nk
    nij = size(t, 1) * size(t, 2)
    nk = size(t, 3)
    call pointwise_features(nij, nk, t, u, v)
    w = MPI_Wtime()
    cw = cpu_seconds()
    if (single) then
      call cl_model_forward(net, xs, ys, stat=stat, errmsg=errmsg)
    else
      call cl_model_forward(net, xp, yp, stat=stat, errmsg=errmsg)
    end if
    wfwd(1) = wfwd(1) + (MPI_Wtime() - w)
    wfwd(2) = wfwd(2) + (cpu_seconds() - cw)
    if (stat /= 0) return
    if (pointwise_store(nij, nk, avt, avm) > 0) call guard_pointwise(t, u, v, avt, avm)
  end subroutine mixing_pointwise

  !> The batch x(:, p) = [r, e] for interface p = c + (k-1) ncol. The fields are seen as
  !> (jpi jpj, jpk): the features of a whole level are computed in one vectorisable pass
  !> (land included, never used), then the water columns' values are gathered (column c
  !> is the flat index fc(c)).
  subroutine pointwise_features(nij, nk, t, u, v)
    integer, intent(in) :: nij                 !< jpi jpj
    integer, intent(in) :: nk                  !< jpk
    real(c_double), intent(in) :: t(nij, nk)   !< temperature, degC
    real(c_double), intent(in) :: u(nij, nk)   !< zonal velocity, m s-1
    real(c_double), intent(in) :: v(nij, nk)   !< meridional velocity, m s-1
    real(c_double) :: n2, n2p, s2, du, dv
    integer :: c, k, p, f
    do k = 1, nk - 1
      do f = 1, nij
        n2 = gal * (t(f, k) - t(f, k + 1)) * rdz(k)
        du = u(f, k) - u(f, k + 1)
        dv = v(f, k) - v(f, k + 1)
        s2 = (du * du + dv * dv) * rdz2(k)
        n2p = max(n2, 0.0_c_double)
        plane_r(f) = n2p / (n2p + max(s2, s2min))
        plane_e(f) = merge(1.0_c_double, 0.0_c_double, n2 <= n2evd)
      end do
      p = (k - 1) * ncol
      if (single) then
        do c = 1, ncol
          xs(1, p + c) = real(plane_r(fc(c)), c_float)
          xs(2, p + c) = real(plane_e(fc(c)), c_float)
        end do
      else
        do c = 1, ncol
          xp(1, p + c) = plane_r(fc(c))
          xp(2, p + c) = plane_e(fc(c))
        end do
      end if
    end do
  end subroutine pointwise_features

  !> avt, avm = the network's output on every interface; returns the number of values
  !> outside [avlo, avhi] (NaN included), whose columns the caller gives to the guard.
  integer function pointwise_store(nij, nk, avt, avm) result(nrej)
    integer, intent(in) :: nij                          !< jpi jpj
    integer, intent(in) :: nk                           !< jpk
    real(c_double), intent(inout) :: avt(nij, nk - 1)   !< diffusivity, m2 s-1
    real(c_double), intent(inout) :: avm(nij, nk - 1)   !< viscosity, m2 s-1
    real(c_double) :: a, b
    integer :: c, k, p
    nrej = 0
    do k = 1, nk - 1
      p = (k - 1) * ncol
      do c = 1, ncol
        call network_output(p + c, a, b)
        avt(fc(c), k) = a
        avm(fc(c), k) = b
        if (.not. accepted(a, b)) nrej = nrej + 1
      end do
    end do
  end function pointwise_store

  !> The guard's test of one interface: avt and avm within [avlo, avhi] (false for NaN).
  elemental logical function accepted(a, b)
    real(c_double), intent(in) :: a, b   !< avt, avm (m2 s-1)
    accepted = a >= avlo .and. a <= avhi .and. b >= avlo .and. b <= avhi
  end function accepted

  !> The pointwise network's [avt, avm] at interface p, in float64.
  pure subroutine network_output(p, a, b)
    integer, intent(in) :: p                !< interface index in the batch
    real(c_double), intent(out) :: a, b     !< avt, avm (m2 s-1)
    if (single) then
      a = real(ys(1, p), c_double)
      b = real(ys(2, p), c_double)
    else
      a = yp(1, p)
      b = yp(2, p)
    end if
  end subroutine network_output

  !> The reference scheme on the columns with a rejected interface (pointwise network).
  subroutine guard_pointwise(t, u, v, avt, avm)
    real(c_double), intent(in), contiguous :: t(:, :, :), u(:, :, :), v(:, :, :)
    real(c_double), intent(inout), contiguous :: avt(:, :, :), avm(:, :, :)
    integer :: c, k, p, ncolbad
    real(c_double) :: a, b
    logical :: ok
    refmask = 0
    ncolbad = 0
    do c = 1, ncol
      ok = .true.
      do k = 1, size(avt, 3)
        p = c + (k - 1) * ncol
        call network_output(p, a, b)
        ok = ok .and. accepted(a, b)
      end do
      if (.not. ok) then
        refmask(ci(c), cj(c)) = 1
        ncolbad = ncolbad + 1
      end if
    end do
    nbad_pw = nbad_pw + ncolbad
    call mixing(int(size(t, 1), c_int), int(size(t, 2), c_int), int(size(t, 3), c_int), &
                refmask, e3w_ref, t, u, v, avt, avm)
  end subroutine guard_pointwise

  !> The guard's reference: the Pacanowski-Philander scheme on the rejected columns (flat
  !> indices ic = i + (j-1) jpi), written into the avt, avm of the current call.
  subroutine pp_columns(columns)
    integer, intent(in) :: columns(:)   !< flat host indices of the rejected columns
    integer :: n, ni, nj, nk
    ni = size(pt, 1)
    nj = size(pt, 2)
    nk = size(pt, 3)
    refmask = 0
    do n = 1, size(columns)
      refmask(mod(columns(n) - 1, ni) + 1, (columns(n) - 1) / ni + 1) = 1
    end do
    call mixing(int(ni, c_int), int(nj, c_int), int(nk, c_int), refmask, e3w_ref, pt, pu, &
                pv, pavt, pavm)
  end subroutine pp_columns

  !> Number of columns the guard handed to the reference scheme since `oml_init`, summed
  !> over the calls (a column rejected at two steps counts twice).
  subroutine oml_guard_columns(nbad)
    integer(int64), intent(out) :: nbad   !< rejected columns, this rank
    if (pointwise) then
      nbad = nbad_pw
    else
      call cl_layout_counts(layout, nbad=nbad)
    end if
  end subroutine oml_guard_columns

  !> CPU time of the process (s), for costs that do not count time spent waiting for a
  !> core on a shared machine.
  function cpu_seconds() result(s)
    real(c_double) :: s
    call cpu_time(s)
  end function cpu_seconds

end module ocean_ml_mixing
